// One client URL serving gRPC and HTTP/1.1 on the same port, as etcd's does: each accepted
// connection is read up to its first four bytes; "PRI " opens the HTTP/2 connection preface and the
// connection goes to the gRPC server, anything else to the HTTP/1.1 server (the JSON gateway,
// /health, /version, /metrics).
//
// With TLS the socket is decrypted first, by our own TLS server with the member's certificates and
// client-certificate policy, so both protocols get the same TLS and the same client checks. ALPN
// picks "http/1.1" when the client offers it (curl, browsers) and "h2" otherwise: a gRPC client
// offers only h2 (grpc-go, grpc-js; grpc-core adds "grpc-exp"), so both get what they speak.

import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { parsePeerUrl } from '../../grpc/peer-url.js';
import type { TlsFiles } from '../../server/config.js';

/** Where a sniffed connection goes. */
export interface ConnectionSinks {
  /** grpc-js's connection injector. */
  readonly grpc: { injectConnection(connection: Socket | TLSSocket): void };
  readonly http: HttpServer;
}

const HTTP2_PREFACE_START = Buffer.from('PRI ');
/** A client that sends fewer bytes than this before its first answer is not HTTP (both protocols send more). */
const SNIFF_BYTES = HTTP2_PREFACE_START.byteLength;

/** How long a new connection may take to send the bytes that tell its protocol. */
const SNIFF_TIMEOUT_MS = 10_000;

/** Listeners and the connections they accepted, closed together. */
export class ClientPort {
  private readonly listeners: NetServer[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly sinks: ConnectionSinks,
    private readonly tls: TlsFiles | null,
  ) {}

  /** Listens on every address `url`'s host resolves to, as grpc-js's bindAsync does. */
  async listen(url: string): Promise<void> {
    const { hostname, port } = parsePeerUrl(url);
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    const addresses = isIP(host) !== 0 ? [host] : [...new Set((await lookup(host, { all: true })).map((entry) => entry.address))];
    const failures: Error[] = [];
    let bound = 0;
    for (const address of addresses) {
      const server = this.createListener();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: address, port, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        this.listeners.push(server);
        bound += 1;
      } catch (error) {
        failures.push(error as Error);
      }
    }
    if (bound === 0) throw failures[0] ?? new Error(`no address to listen on for ${url}`);
  }

  close(): void {
    for (const listener of this.listeners.splice(0)) listener.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private createListener(): NetServer {
    if (this.tls === null) return createNetServer((socket) => this.accept(socket));
    const tls = this.tls;
    const server = createTlsServer({
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      ...(tls.trustedCaFile === null ? {} : { ca: readFileSync(tls.trustedCaFile) }),
      requestCert: tls.clientCertAuth,
      rejectUnauthorized: tls.clientCertAuth,
      ALPNCallback: ({ protocols }) => (protocols.includes('http/1.1') ? 'http/1.1' : protocols.includes('h2') ? 'h2' : undefined),
    });
    server.on('secureConnection', (socket: TLSSocket) => this.accept(socket));
    // A failed handshake is the client's problem; the listener goes on.
    server.on('tlsClientError', () => {});
    return server;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    // As grpc-js's and Node's HTTP servers set it: answers go out without Nagle's delay.
    socket.setNoDelay(true);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head: Buffer = Buffer.alloc(0);
    // A client that never sends its first bytes is not kept forever.
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      head = head.byteLength === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.byteLength < SNIFF_BYTES) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      socket.pause();
      this.route(socket, head);
    };
    socket.on('data', onData);
  }

  private route(socket: Socket, head: Buffer): void {
    if (head.subarray(0, SNIFF_BYTES).equals(HTTP2_PREFACE_START)) {
      // Node's http2 session takes bytes already read from the socket's buffer first.
      socket.unshift(head);
      // Node's http2 refuses a TLS socket whose ALPN did not say h2; a client that sends the
      // preface without ALPN speaks h2 all the same.
      if ('alpnProtocol' in socket && socket.alpnProtocol !== 'h2') Object.defineProperty(socket, 'alpnProtocol', { value: 'h2' });
      this.sinks.grpc.injectConnection(socket);
      return;
    }
    // Node's HTTP/1 parser reads the socket's handle directly, past the stream's buffer: the bytes
    // read so far go in as the first 'data' event instead.
    this.sinks.http.emit('connection', socket);
    socket.emit('data', head);
    socket.resume();
  }
}
