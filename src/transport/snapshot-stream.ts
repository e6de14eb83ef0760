// A MsgSnap travels on its own RPC: a header frame with the message (its snapshot data left as the
// sender set it, normally empty), then the body as raw chunks, then the end of the call. The body
// is opaque here (the member layer defines it: a dump of its store) and never whole in memory:
// the sender reads the next chunk from its source only when the call has room for it, and the
// receiver pauses the call while its sink writes a chunk, so HTTP/2 flow control holds both ends
// to the slower of the two. The heartbeats and appends on the peer's message stream flow beside it.

import type { Client, ClientWritableStream, ServerReadableStream, ServiceError } from '@grpc/grpc-js';
import { MessageType, type Message, type Snapshot } from '../raft/index.js';
import { SnapshotStreamCutError, SnapshotStreamMalformedError, SnapshotTooLargeError } from './errors.js';
import { snapshotStreamMethod, streamMetadata, type Ack, type SnapshotFrame, type StreamHeader } from './service.js';

/** A MsgSnap: the Raft message that carries a snapshot. */
export type SnapshotMessage = Message & { readonly snapshot: Snapshot };

/** The body of an outgoing snapshot, read a chunk at a time as the call has room. */
export interface SnapshotSource {
  /** The next bytes of the body (at most a frame's worth); null at its end. */
  read(): Promise<Uint8Array | null>;
  /** Releases what the source holds; called once, whatever the outcome, possibly during a read. */
  close(): void;
}

/** Where an incoming snapshot's body goes. The transport calls write() one chunk at a time. */
export interface SnapshotSink {
  write(chunk: Uint8Array): Promise<void>;
  /** The whole body arrived: check it and return the MsgSnap to hand to the node. */
  finish(): Promise<Message>;
  /** The stream failed, was cut or refused: drop whatever was written. Called at most once, never after finish() resolved. */
  abort(): Promise<void>;
}

/** A source over bytes already in memory (a small body, or a test's). */
export function bytesSource(data: Uint8Array, chunkBytes: number): SnapshotSource {
  let offset = 0;
  return {
    read: () => {
      if (offset >= data.byteLength) return Promise.resolve(null);
      const chunk = data.subarray(offset, offset + chunkBytes);
      offset += chunk.byteLength;
      return Promise.resolve(chunk);
    },
    close: () => {},
  };
}

/**
 * Streams `message` (a MsgSnap) to a peer: the header, then the body chunk by chunk from `source`,
 * reading the next chunk only once gRPC has taken the previous one without pushing back. `done`
 * receives the call's outcome, once; the source is closed before it.
 */
export function streamSnapshot(
  client: Client,
  message: SnapshotMessage,
  source: SnapshotSource,
  header: StreamHeader,
  done: (error: Error | null) => void,
): ClientWritableStream<SnapshotFrame> {
  const { path, requestSerialize, responseDeserialize } = snapshotStreamMethod;
  let finished = false;
  let wakeUp: (() => void) | null = null;
  const finish = (error: Error | null): void => {
    if (finished) return;
    finished = true;
    source.close();
    wakeUp?.();
    done(error);
  };
  const call = client.makeClientStreamRequest(path, requestSerialize, responseDeserialize, streamMetadata(header), {}, (error: ServiceError | null) =>
    finish(error ?? null),
  );
  call.on('drain', () => wakeUp?.());
  const pump = async (): Promise<void> => {
    let room = call.write({ kind: 'header', message });
    for (;;) {
      if (!room) {
        await new Promise<void>((resolve) => (wakeUp = resolve));
        wakeUp = null;
      }
      if (finished) return;
      const chunk = await source.read();
      if (finished) return;
      if (chunk === null) {
        call.end();
        return;
      }
      room = call.write({ kind: 'chunk', data: chunk });
    }
  };
  pump().catch((error: unknown) => {
    // The source failed (its database closed, a read error): the receiver must not keep a half.
    call.cancel();
    finish(error instanceof Error ? error : new Error(String(error)));
  });
  return call;
}

/**
 * Feeds one inbound snapshot call into a sink: the header first (`openSink` decides whether to
 * accept it), then each chunk, the call paused while the sink writes. Counts the bytes as they
 * arrive and refuses the stream past `snapshotBytesMax`. Resolves to the finished MsgSnap; rejects
 * (after aborting the sink) on anything else: a malformed stream, a sink error, the call cut.
 */
export function receiveSnapshot(
  call: ServerReadableStream<SnapshotFrame, Ack>,
  openSink: (header: SnapshotMessage) => SnapshotSink,
  snapshotBytesMax: number,
): Promise<Message> {
  return new Promise((resolve, reject) => {
    let sink: SnapshotSink | null = null;
    let received = 0;
    let settled = false;
    let ended = false;
    let writing: Promise<void> = Promise.resolve();
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      call.removeAllListeners('data');
      const aborted = sink === null ? Promise.resolve() : writing.catch(() => {}).then(() => sink!.abort());
      aborted.then(
        () => reject(error),
        () => reject(error),
      );
    };
    call.on('data', (frame: SnapshotFrame) => {
      if (settled) return;
      try {
        if (frame.kind === 'header') {
          if (sink !== null) throw new SnapshotStreamMalformedError('second header');
          if (frame.message.type !== MessageType.Snap || frame.message.snapshot === null) throw new SnapshotStreamMalformedError('header is not a MsgSnap with a snapshot');
          sink = openSink(frame.message as SnapshotMessage);
          return;
        }
        if (sink === null) throw new SnapshotStreamMalformedError('data before the header');
        received += frame.data.byteLength;
        if (received > snapshotBytesMax) throw new SnapshotTooLargeError(received, snapshotBytesMax);
      } catch (error) {
        fail(error);
        return;
      }
      const target = sink;
      call.pause();
      writing = target.write(frame.data);
      writing.then(
        () => {
          if (!settled) call.resume();
        },
        fail,
      );
    });
    call.on('end', () => {
      ended = true;
      if (settled) return;
      writing.then(
        () => {
          if (settled) return;
          if (sink === null) return fail(new SnapshotStreamMalformedError('no header'));
          sink.finish().then(
            (message) => {
              if (settled) return;
              settled = true;
              resolve(message);
            },
            fail,
          );
        },
        () => {},
      );
    });
    call.on('error', fail);
    call.on('cancelled', () => fail(new SnapshotStreamCutError()));
    call.on('close', () => {
      if (!ended) fail(new SnapshotStreamCutError());
    });
  });
}
