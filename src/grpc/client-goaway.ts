// Serves the streams a client opened just before it closed its connection, as grpc-go (etcd) does.
//
// A client closing an HTTP/2 connection sends GOAWAY(NO_ERROR) and may still have the HEADERS of a
// call it queued a moment earlier in the same write: Node's http2 client flushes the GOAWAY ahead of
// them (the npm etcd3 client does this when it cancels a watch and closes while a call is starting).
// Node's http2 core answers any GOAWAY(NO_ERROR) from the peer by calling `session.close()` right
// after emitting 'goaway', and a closed session refuses every later stream (REFUSED_STREAM), so the
// call fails with UNAVAILABLE. etcd (grpc-go) answers such streams, then the connection closes
// (seen with ../shared/repro/http2-close-race.cjs against etcd 3.4).
//
// Here each server session skips the one `close()` that Node makes in answer to the client's
// GOAWAY and keeps serving; once none of the client's streams is open, it closes the session itself
// (GOAWAY, then the socket). It must: after a GOAWAY, Node's http2 core stops reading the socket as
// soon as no stream is open, so it would never see the client's FIN and would hold the socket in
// CLOSE-WAIT. Closing when the last stream ends is also what Node would have done, one read later.
//
// This reaches below grpc-js's public API, which gives no access to its http2 sessions (through
// grpc-internals.ts); test/integration/client-goaway.test.ts fails if Node or grpc-js change the
// behaviour.

import { constants as http2Constants, type Http2Session, type Http2Stream } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { grpcHttp2Servers } from './grpc-internals.js';

/** The http2 servers already hooked (a server bound to several addresses is hooked once each). */
const hookedHttp2Servers = new WeakSet<object>();

/**
 * Makes every session of `server` keep serving streams after a client's GOAWAY(NO_ERROR). Call it
 * after each bindAsync (sessions accepted before the call are hooked too).
 */
export function serveStreamsAfterClientGoaway(server: Server): void {
  for (const [http2Server, sessions] of grpcHttp2Servers(server)) {
    if (hookedHttp2Servers.has(http2Server)) continue;
    hookedHttp2Servers.add(http2Server);
    http2Server.on('session', keepServingAfterClientGoaway);
    for (const session of sessions) keepServingAfterClientGoaway(session);
  }
}

function keepServingAfterClientGoaway(session: Http2Session): void {
  // Bounded by the session's SETTINGS_MAX_CONCURRENT_STREAMS, which nghttp2 enforces.
  const openStreams = new Set<Http2Stream>();
  let clientSentGoaway = false;
  // Deferred to the next turn of the loop: by then every frame of the current read is processed,
  // and the 'stream' events Node defers with nextTick are out, so a stream whose HEADERS came with
  // the GOAWAY counts as open.
  const closeOnceNoStreamIsOpen = (): void => {
    setImmediate(() => {
      if (openStreams.size === 0 && !session.closed && !session.destroyed) session.close();
    });
  };
  session.on('stream', (stream: Http2Stream) => {
    openStreams.add(stream);
    stream.once('close', () => {
      openStreams.delete(stream);
      if (clientSentGoaway) closeOnceNoStreamIsOpen();
    });
  });
  session.on('goaway', (errorCode: number) => {
    // Any other code reports a failure: Node destroys the session at once, and that is left alone.
    if (errorCode !== http2Constants.NGHTTP2_NO_ERROR || session.closed || session.destroyed) return;
    skipNextClose(session);
    clientSentGoaway = true;
    closeOnceNoStreamIsOpen();
  });
}

/**
 * Node calls `session.close()` synchronously right after the 'goaway' listeners return; an own
 * property shadowing the prototype's `close` swallows that one call. It is removed by the call, or
 * at the next microtask if Node no longer makes it, so later closes (grpc-js's shutdown) still work.
 */
function skipNextClose(session: Http2Session): void {
  const shadowed = session as { close: Http2Session['close'] };
  const removeShadow = (): void => {
    if (Object.prototype.hasOwnProperty.call(shadowed, 'close')) delete (shadowed as { close?: unknown }).close;
  };
  shadowed.close = () => removeShadow();
  queueMicrotask(removeShadow);
}
