// HTTP/2 receive windows of the peer listener. Node's http2 starts every stream and every
// connection with the protocol's default window, 64 KiB: a sender may have that much unread at the
// receiver before it must wait for a WINDOW_UPDATE, so a snapshot of hundreds of megabytes moves 64
// KiB per round trip through the receiver's event loop (about 45 MB/s measured here, 327 MB in
// 7 s). Wider windows let the transfer run at the speed of the two databases. What they cost is
// bounded: a receiver that pauses a call (the snapshot inbox, while it writes a batch) holds at most
// a window of that stream's data in memory.

import type { Http2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { grpcHttp2Servers } from '../grpc/grpc-internals.js';

/** What one inbound stream may have in flight (SETTINGS_INITIAL_WINDOW_SIZE). */
export const PEER_STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
/** What one inbound connection may have in flight, over all its streams. */
export const PEER_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

function widen(session: Http2Session): void {
  session.setLocalWindowSize(PEER_CONNECTION_WINDOW_BYTES);
}

/** Widens the connection window of every session `server` has accepted and will accept. Call after each bindAsync. */
export function widenConnectionWindows(server: Server): void {
  for (const [http2Server, sessions] of grpcHttp2Servers(server)) {
    if (http2Server.listeners('session').includes(widen)) continue;
    http2Server.on('session', widen);
    for (const session of sessions) widen(session);
  }
}
