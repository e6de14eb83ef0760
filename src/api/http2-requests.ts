// What grpc-go (etcd) accepts or refuses differently from grpc-js at the HTTP/2 layer, set
// through src/grpc/grpc-internals.ts:
// - Metadata: Node's http2 refuses a call with more than 128 header fields or 64 KiB of them (it
//   resets the stream, ENHANCE_YOUR_CALM); grpc-go bounds the header list by size only (16 MiB),
//   and etcd serves a call with thousands of metadata entries. Here the list may take 1 MiB, and as
//   many entries as fit in it (HTTP/2 counts 32 bytes of overhead for each).
// - Compression: etcd registers no decompressor, so every call declaring a `grpc-encoding` other
//   than identity gets UNIMPLEMENTED before any message is read, whatever the body. grpc-js would
//   inflate it (and answer INTERNAL when the body is not what it says). raftkv answers as etcd does,
//   so a client cannot rely on a compression etcd does not have.
// - Unknown methods: the same Unimplemented, in grpc-go's words ("unknown service X", "unknown
//   method M for service X"), which clients and tools print.

import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { status, type Server } from '@grpc/grpc-js';
import { grpcHttp2Servers, setGrpcHttp2ServerOptions } from '../grpc/grpc-internals.js';

/** The header list of one call, uncompressed; grpc-go takes 16 MiB, Node 64 KiB by default. */
export const METADATA_BYTES_MAX = 1024 * 1024;
/** As many entries as fit in METADATA_BYTES_MAX, at the 32 bytes HTTP/2 counts for each. */
export const METADATA_ENTRIES_MAX = METADATA_BYTES_MAX / 32;

/** Before bindAsync: the http2 servers grpc-js creates take calls with this much metadata. */
export function acceptEtcdMetadataSizes(server: Server): void {
  setGrpcHttp2ServerOptions(server, { maxHeaderListPairs: METADATA_ENTRIES_MAX, settings: { maxHeaderListSize: METADATA_BYTES_MAX } });
}

const filtered = new WeakSet<Http2Server>();

/**
 * After bindAsync: calls declaring a compressed body, and calls of a method not in `servedPaths`
 * ("/package.Service/Method"), are refused as etcd refuses them.
 */
export function refuseAsEtcd(server: Server, servedPaths: ReadonlySet<string>): void {
  const servedServices = new Set([...servedPaths].map((path) => path.slice(1, path.lastIndexOf('/'))));
  for (const [http2Server] of grpcHttp2Servers(server)) {
    if (filtered.has(http2Server)) continue;
    filtered.add(http2Server);
    // grpc-js serves every stream from its 'stream' listener: it goes behind this filter.
    const serve = http2Server.listeners('stream') as Array<(...args: unknown[]) => void>;
    http2Server.removeAllListeners('stream');
    http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
      const refusal = refusalOf(headers, servedPaths, servedServices);
      if (refusal !== null) {
        refuse(stream, refusal);
        return;
      }
      for (const listener of serve) listener.call(http2Server, stream, headers, ...rest);
    });
  }
}

/** grpc-go's Unimplemented text for a call it does not serve, or null. */
function refusalOf(headers: IncomingHttpHeaders, servedPaths: ReadonlySet<string>, servedServices: ReadonlySet<string>): string | null {
  const path = headers[':path'] ?? '';
  if (!servedPaths.has(path)) {
    const name = path.startsWith('/') ? path.slice(1) : path;
    const slash = name.lastIndexOf('/');
    if (slash === -1) return `malformed method name: ${JSON.stringify(path)}`;
    const service = name.slice(0, slash);
    return servedServices.has(service) ? `unknown method ${name.slice(slash + 1)} for service ${service}` : `unknown service ${service}`;
  }
  const encoding = headers['grpc-encoding'];
  if (typeof encoding === 'string' && encoding !== 'identity') return `grpc: Decompressor is not installed for grpc-encoding ${JSON.stringify(encoding)}`;
  return null;
}

/** A trailers-only answer, as grpc-go writes a status before any message. */
function refuse(stream: ServerHttp2Stream, message: string): void {
  stream.on('error', () => {});
  stream.resume();
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status.UNIMPLEMENTED), 'grpc-message': percentEncode(message) }, { endStream: true });
}

/** gRPC's grpc-message encoding: printable ASCII but '%' as is, everything else as %XX of UTF-8. */
function percentEncode(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
