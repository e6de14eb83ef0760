// A MsgSnap travels on its own RPC, its snapshot data cut into chunks: a big snapshot never sits in
// one frame, and the heartbeats and appends on the peer's message stream keep flowing beside it.

import type { Client, ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { MessageType, type Message, type Snapshot } from '../raft/index.js';
import { SnapshotStreamMalformedError, SnapshotTooLargeError } from './errors.js';
import { snapshotStreamMethod, streamMetadata, type SnapshotFrame, type StreamHeader } from './service.js';

const EMPTY = new Uint8Array(0);

/**
 * Streams `message` (a MsgSnap) to a peer: the header, then the data chunk by chunk, writing the
 * next chunk only when gRPC has room for it. `done` receives the call's outcome.
 */
export function streamSnapshot(
  client: Client,
  message: Message & { readonly snapshot: Snapshot },
  header: StreamHeader,
  chunkBytes: number,
  done: (error: ServiceError | null) => void,
): ClientWritableStream<SnapshotFrame> {
  const { data } = message.snapshot;
  const { path, requestSerialize, responseDeserialize } = snapshotStreamMethod;
  const metadata = streamMetadata(header, data.byteLength);
  const call = client.makeClientStreamRequest(path, requestSerialize, responseDeserialize, metadata, {}, (error) => done(error ?? null));
  call.write({ kind: 'header', message: { ...message, snapshot: { ...message.snapshot, data: EMPTY } } });
  let offset = 0;
  const writeChunks = (): void => {
    while (offset < data.byteLength) {
      const chunk = data.subarray(offset, offset + chunkBytes);
      offset += chunk.byteLength;
      if (!call.write({ kind: 'chunk', data: chunk })) {
        call.once('drain', writeChunks);
        return;
      }
    }
    call.end();
  };
  writeChunks();
  return call;
}

/** Rebuilds a MsgSnap from its frames, refusing anything beyond the announced (and allowed) size. */
export class SnapshotAssembler {
  private header: Message | null = null;
  private readonly data: Buffer;
  private received = 0;

  constructor(
    private readonly totalBytes: number,
    snapshotBytesMax: number,
  ) {
    if (totalBytes > snapshotBytesMax) throw new SnapshotTooLargeError(totalBytes, snapshotBytesMax);
    // Filled completely before use (finish() checks), so no need to zero it.
    this.data = Buffer.allocUnsafe(totalBytes);
  }

  add(frame: SnapshotFrame): void {
    if (frame.kind === 'header') this.addHeader(frame.message);
    else this.addChunk(frame.data);
  }

  finish(): Message {
    const header = this.header;
    if (header === null || header.snapshot === null) throw new SnapshotStreamMalformedError('no header');
    if (this.received !== this.totalBytes) {
      throw new SnapshotStreamMalformedError(`ended after ${this.received} of ${this.totalBytes} bytes`);
    }
    return { ...header, snapshot: { ...header.snapshot, data: this.data } };
  }

  private addHeader(message: Message): void {
    if (this.header !== null) throw new SnapshotStreamMalformedError('second header');
    if (message.type !== MessageType.Snap || message.snapshot === null) {
      throw new SnapshotStreamMalformedError('header is not a MsgSnap with a snapshot');
    }
    this.header = message;
  }

  private addChunk(chunk: Uint8Array): void {
    if (this.header === null) throw new SnapshotStreamMalformedError('data before the header');
    if (this.received + chunk.byteLength > this.totalBytes) {
      throw new SnapshotStreamMalformedError(`more than the announced ${this.totalBytes} bytes`);
    }
    this.data.set(chunk, this.received);
    this.received += chunk.byteLength;
  }
}
