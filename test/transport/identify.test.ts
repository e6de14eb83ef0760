import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  IdentifyFailedError,
  InvalidPeerUrlError,
  InvalidTransportOptionsError,
  PeerTransport,
  TlsConfigError,
  TransportErrorCode,
  type PeerTlsOptions,
} from '../../src/transport/index.js';
import { deserializeIdentity, serializeIdentity } from '../../src/transport/service.js';
import { makeCertificates } from '../support/certificates.js';
import { startMember, stopAll, unusedPort, waitFor } from './harness.js';

// Raw TCP servers a test opens (silent listeners, proxies), with every socket they accepted.
const tcpServers: Array<{ server: Server; sockets: Set<Socket> }> = [];
const grpcServers: GrpcServer[] = [];

afterEach(async () => {
  for (const server of grpcServers.splice(0)) server.forceShutdown();
  const servers = tcpServers.splice(0);
  for (const { sockets } of servers) for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await stopAll();
});

/** Starts a raw TCP server; `open` counts the sockets it accepted that are not closed yet. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ url: string; open: () => number; accepted: () => number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  tcpServers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}`, open: () => sockets.size, accepted: () => accepted };
}

/** Accepts connections and never says a word: only a deadline ends a call to it. */
function silentServer(): ReturnType<typeof tcpServer> {
  return tcpServer(() => {});
}

/** Forwards every connection to `port`, so a test can see when the client closes its connection. */
function proxyTo(port: number): ReturnType<typeof tcpServer> {
  return tcpServer((socket) => {
    const upstream = connect(port, '127.0.0.1');
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
}

const deadUrl = async (): Promise<string> => `http://127.0.0.1:${await unusedPort()}`;

async function timed<T>(work: Promise<T>): Promise<{ outcome: T | unknown; ms: number }> {
  const start = performance.now();
  const outcome = await work.catch((error: unknown) => error);
  return { outcome, ms: performance.now() - start };
}

describe('PeerTransport.identify over plaintext', () => {
  it('returns the cluster and member ids of a running transport, ids up to 2^53 - 1 intact', async () => {
    const member = await startMember({ memberId: 2 ** 53 - 1, clusterId: 2 ** 53 - 2 });
    const other = await startMember({ memberId: 5, clusterId: 123_456_789 });
    expect(await PeerTransport.identify([member.url])).toEqual({ clusterId: 2 ** 53 - 2, memberId: 2 ** 53 - 1, url: member.url });
    expect(await PeerTransport.identify([other.url])).toEqual({ clusterId: 123_456_789, memberId: 5, url: other.url });
  });

  it('skips a refused URL and answers from the next one', async () => {
    const member = await startMember({ memberId: 3, clusterId: 42 });
    const dead = await deadUrl();
    expect(await PeerTransport.identify([dead, member.url], { timeoutMs: 1_000 })).toEqual({ clusterId: 42, memberId: 3, url: member.url });
  });

  it('gives up on a silent URL after its deadline and answers from the next one', async () => {
    const silent = await silentServer();
    const member = await startMember({ memberId: 4, clusterId: 43 });
    const { outcome, ms } = await timed(PeerTransport.identify([silent.url, member.url], { timeoutMs: 300 }));
    expect(outcome).toEqual({ clusterId: 43, memberId: 4, url: member.url });
    expect(silent.accepted()).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1_500);
  });

  it('stops at the first answer: later URLs are not contacted', async () => {
    const member = await startMember({ memberId: 1, clusterId: 9 });
    const later = await silentServer();
    expect(await PeerTransport.identify([member.url, later.url])).toMatchObject({ url: member.url });
    expect(later.accepted()).toBe(0);
  });

  it('throws IdentifyFailedError, listing every URL tried, when none answers, within the deadlines', async () => {
    const refused = await deadUrl();
    const silent = await silentServer();
    const stopped = await startMember({ memberId: 6 });
    await stopped.transport.stop();
    const urls = [refused, silent.url, stopped.url];
    const { outcome, ms } = await timed(PeerTransport.identify(urls, { timeoutMs: 300 }));
    expect(outcome).toBeInstanceOf(IdentifyFailedError);
    const error = outcome as IdentifyFailedError;
    expect(error.code).toBe(TransportErrorCode.IdentifyFailed);
    expect(error.urls).toEqual(urls);
    expect(error.attempts.map((attempt) => attempt.url)).toEqual(urls);
    expect(error.cause).toBe(error.attempts[2]!.error);
    for (const url of urls) expect(error.message).toContain(url);
    expect(error.message).toMatch(/UNAVAILABLE/);
    expect(error.message).toMatch(/DEADLINE_EXCEEDED/);
    // Three deadlines of 300 ms at most, and only the silent URL should need its whole deadline.
    expect(ms).toBeLessThan(900);
  });

  it('gets no answer from a gRPC server without Identify (an older member) or from a non-gRPC server', async () => {
    const older = new GrpcServer();
    grpcServers.push(older);
    const port = await new Promise<number>((resolve, reject) =>
      older.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const http1 = await tcpServer((socket) => socket.end('HTTP/1.1 404 Not Found\r\n\r\n'));
    const urls = [`http://127.0.0.1:${port}`, http1.url];
    const error = await PeerTransport.identify(urls, { timeoutMs: 1_000 }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(IdentifyFailedError);
    expect((error as IdentifyFailedError).attempts[0]!.error.message).toMatch(/UNIMPLEMENTED/);
    expect(http1.accepted()).toBe(1);
  });

  it('closes its connection once answered', async () => {
    const member = await startMember({ memberId: 2, clusterId: 11 });
    const proxy = await proxyTo(member.port);
    expect(await PeerTransport.identify([proxy.url])).toMatchObject({ clusterId: 11, memberId: 2 });
    expect(proxy.accepted()).toBe(1);
    await waitFor(() => proxy.open() === 0, 'the connection to close', 2_000);
  });

  it('refuses bad arguments before trying anything', async () => {
    const silent = await silentServer();
    await expect(PeerTransport.identify([])).rejects.toBeInstanceOf(InvalidPeerUrlError);
    await expect(PeerTransport.identify([silent.url, 'ftp://127.0.0.1:1'])).rejects.toBeInstanceOf(InvalidPeerUrlError);
    await expect(PeerTransport.identify([silent.url], { timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidTransportOptionsError);
    await expect(PeerTransport.identify([silent.url], { tls: { certFile: '/nonexistent.crt', keyFile: '/nonexistent.key' } })).rejects.toBeInstanceOf(TlsConfigError);
    expect(silent.accepted()).toBe(0);
  });
});

describe('PeerTransport.identify over TLS', () => {
  let dir: string;
  let trusted: PeerTlsOptions;
  let rogue: PeerTlsOptions;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'raftkv-transport-identify-'));
    const good = makeCertificates(dir, 'good');
    const bad = makeCertificates(dir, 'rogue');
    trusted = { certFile: good.cert, keyFile: good.key, trustedCaFile: good.ca, clientCertAuth: true };
    // Trusts the real CA, but presents a certificate the listener cannot verify.
    rogue = { certFile: bad.cert, keyFile: bad.key, trustedCaFile: good.ca };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('identifies a TLS listener that demands client certificates', async () => {
    const member = await startMember({ memberId: 8, clusterId: 77, tls: trusted }, 0, 'https');
    expect(member.url.startsWith('https://')).toBe(true);
    expect(await PeerTransport.identify([member.url], { tls: trusted })).toEqual({ clusterId: 77, memberId: 8, url: member.url });
  });

  it('gets no answer without a trusted client certificate, or in plaintext', async () => {
    const member = await startMember({ memberId: 8, clusterId: 77, tls: trusted }, 0, 'https');
    const attempts: Array<[string, PeerTlsOptions | undefined]> = [
      [member.url, undefined],
      [member.url, rogue],
      [`http://127.0.0.1:${member.port}`, trusted],
    ];
    for (const [url, tls] of attempts) {
      await expect(PeerTransport.identify([url], { tls, timeoutMs: 1_000 })).rejects.toBeInstanceOf(IdentifyFailedError);
    }
  });
});

describe('Identity encoding', () => {
  it('round-trips the ids in 16 bytes and rejects anything else', () => {
    const identity = { clusterId: 2 ** 53 - 1, memberId: 1 };
    const bytes = serializeIdentity(identity);
    expect(bytes.byteLength).toBe(16);
    expect(deserializeIdentity(bytes)).toEqual(identity);
    expect(() => deserializeIdentity(Buffer.alloc(0))).toThrow();
    expect(() => deserializeIdentity(Buffer.alloc(17))).toThrow();
    expect(() => deserializeIdentity(serializeIdentity({ clusterId: 1.5, memberId: 1 }))).toThrow();
    expect(() => deserializeIdentity(serializeIdentity({ clusterId: 1, memberId: -1 }))).toThrow();
    expect(() => deserializeIdentity(serializeIdentity({ clusterId: 2 ** 53, memberId: 1 }))).toThrow();
  });
});
