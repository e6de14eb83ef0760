// The one place that reaches below @grpc/grpc-js's public API (pinned to ~1.14.7 in package.json).
// grpc-js gives no access to the http2 servers and sessions it creates, nor to the http2 options it
// creates them with; three behaviours etcd's grpc-go has need them (client-goaway.ts,
// src/api/http2-requests.ts), and so do the peer listener's receive windows
// (src/transport/flow-control.ts). Every accessor checks the shape it relies on and throws
// GrpcInternalsChangedError at startup, rather than silently doing nothing after an upgrade.

import { EventEmitter } from 'node:events';
import type { Http2Server, Http2Session, ServerOptions as Http2ServerOptions } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { GrpcInternalsChangedError } from './errors.js';

/** grpc-js's listening http2 servers, each with its open sessions (private: `Server.http2Servers`). */
export function grpcHttp2Servers(server: Server): Array<[Http2Server, Iterable<Http2Session>]> {
  const http2Servers: unknown = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map)) throw new GrpcInternalsChangedError('Server.http2Servers is not a Map');
  const found: Array<[Http2Server, Iterable<Http2Session>]> = [];
  for (const [http2Server, entry] of http2Servers) {
    const sessions: unknown = (entry as { sessions?: unknown } | undefined)?.sessions;
    if (!(http2Server instanceof EventEmitter) || !(sessions instanceof Set)) {
      throw new GrpcInternalsChangedError('Server.http2Servers does not map http2 servers to { sessions: Set }');
    }
    found.push([http2Server as Http2Server, sessions as Set<Http2Session>]);
  }
  return found;
}

/**
 * Sets Node http2 options grpc-js passes to every http2 server it creates later (private:
 * `Server.commonServerOptions`); call it before bindAsync.
 */
export function setGrpcHttp2ServerOptions(server: Server, options: Pick<Http2ServerOptions, 'maxHeaderListPairs' | 'settings'>): void {
  const common: unknown = (server as unknown as { commonServerOptions?: unknown }).commonServerOptions;
  if (common === null || typeof common !== 'object') throw new GrpcInternalsChangedError('Server.commonServerOptions is not an object');
  const current = common as Http2ServerOptions;
  // grpc-js keeps its own settings there (maxConcurrentStreams): merged, not replaced.
  Object.assign(current, { ...options, settings: { ...current.settings, ...options.settings } });
}
