// A follower's snapshot travels the way the member's transport sends it: on its own stream beside
// the message stream (heartbeats and appends keep flowing), cut into chunks, one chunk in flight
// (the receiver acknowledges each before the next goes: flow control). Every chunk is a timed
// delivery on the link, subject to its latency, loss and cuts. The receiver stages chunks on its
// disk; only when the last one is in and the checksum of the whole matches does the core see the
// MsgSnap. Anything that breaks the stream half-way (a lost chunk, a cut link, either end crashing
// or restarting) aborts it: the staged part is discarded and the sender's core hears "failed"
// (RawNode.reportSnapshot(false)), so it probes again and a later send starts from the beginning.

import type { Message } from '../../src/raft/index.js';
import { hashBytes } from './hash.js';
import type { SimMember } from './member.js';
import type { SimNetwork } from './network.js';

export type SnapshotStreamEvent =
    | { kind: 'snapshot-chunk'; stream: number; chunk: number }
    | { kind: 'snapshot-chunk-ack'; stream: number; chunk: number };

/** What the transfers need from the cluster around them. */
export interface SnapshotTransferHost {
  readonly network: SimNetwork;
  member(id: number): SimMember | undefined;
  schedule(delayMs: number, event: SnapshotStreamEvent): void;
  /** The sender's transport tells its core how the send ended, `delayMs` from now. */
  reportStatus(from: number, senderIncarnation: number, to: number, succeeded: boolean, delayMs: number): void;
  /** Hands the verified MsgSnap (its data now the staged image) to the receiver's core. */
  deliver(to: SimMember, message: Message): void;
  trace(line: string): void;
}

export interface SnapshotTransferStats {
  snapshotsStarted: number;
  snapshotsCompleted: number;
  snapshotsAborted: number;
  /** Aborted after at least one chunk had been staged by the receiver. */
  snapshotsAbortedMidway: number;
  snapshotChunksDelivered: number;
  snapshotChecksumFailures: number;
}

export function emptySnapshotTransferStats(): SnapshotTransferStats {
  return { snapshotsStarted: 0, snapshotsCompleted: 0, snapshotsAborted: 0, snapshotsAbortedMidway: 0, snapshotChunksDelivered: 0, snapshotChecksumFailures: 0 };
}

interface SnapshotStream {
  readonly id: number;
  readonly from: number;
  readonly to: number;
  readonly senderIncarnation: number;
  /** The receiver's life that staged the first chunk; a restart in between breaks the stream. */
  receiverIncarnation: number | null;
  readonly message: Message;
  readonly chunks: readonly Uint8Array[];
  readonly checksum: number;
  chunksStaged: number;
}

/** A member sends at most one snapshot to each peer at once, so this bounds members squared. */
const STREAMS_MAX = 256;

export class SnapshotTransfers {
  private readonly host: SnapshotTransferHost;
  private readonly chunkCount: number;
  /** How long a sender takes to notice a broken stream (its deadline on the acknowledgement). */
  private readonly failureDetectMs: number;
  private readonly streams = new Map<number, SnapshotStream>();
  private nextStreamId = 1;
  readonly stats = emptySnapshotTransferStats();

  constructor(host: SnapshotTransferHost, chunkCount: number, failureDetectMs: number) {
    this.host = host;
    this.chunkCount = chunkCount;
    this.failureDetectMs = failureDetectMs;
  }

  /** `sender`'s core asked to send this MsgSnap. */
  start(sender: SimMember, message: Message): void {
    const snapshot = message.snapshot;
    if (snapshot === null) throw new Error('a snapshot stream needs a MsgSnap');
    this.stats.snapshotsStarted++;
    // A newer send to the same peer replaces one still running, as the transport does.
    for (const stream of this.streams.values()) {
      if (stream.from === sender.id && stream.to === message.to) this.abort(stream, 'superseded by a newer send', false);
    }
    if (this.streams.size >= STREAMS_MAX) {
      this.host.reportStatus(sender.id, sender.incarnation, message.to, false, 1);
      this.stats.snapshotsAborted++;
      return;
    }
    const stream: SnapshotStream = {
      id: this.nextStreamId++,
      from: sender.id,
      to: message.to,
      senderIncarnation: sender.incarnation,
      receiverIncarnation: null,
      message,
      chunks: cutIntoChunks(snapshot.data, this.chunkCount),
      checksum: hashBytes(snapshot.data),
      chunksStaged: 0,
    };
    this.streams.set(stream.id, stream);
    this.host.trace(`${stream.from}->${stream.to} snapshot ${snapshot.metadata.index} stream ${stream.id} starts (${stream.chunks.length} chunks)`);
    this.sendChunk(stream, 0);
  }

  handle(event: SnapshotStreamEvent): void {
    const stream = this.streams.get(event.stream);
    if (stream === undefined) return; // aborted meanwhile
    if (event.kind === 'snapshot-chunk') this.onChunk(stream, event.chunk);
    else this.onChunkAck(stream, event.chunk);
  }

  private sendChunk(stream: SnapshotStream, chunk: number): void {
    const delayMs = this.host.network.streamFrameDelayMs(stream.from, stream.to);
    if (delayMs === null) {
      this.abort(stream, `chunk ${chunk} lost or link cut`, true);
      return;
    }
    this.host.schedule(delayMs, { kind: 'snapshot-chunk', stream: stream.id, chunk });
  }

  private onChunk(stream: SnapshotStream, chunk: number): void {
    if (!this.senderAlive(stream)) return this.abort(stream, 'sender crashed', false);
    const receiver = this.host.member(stream.to);
    if (receiver?.node == null) return this.abort(stream, 'receiver down', true);
    if (stream.receiverIncarnation !== null && receiver.incarnation !== stream.receiverIncarnation) {
      return this.abort(stream, 'receiver restarted', true);
    }
    if (this.host.network.isCut(stream.from, stream.to)) return this.abort(stream, 'link cut', true);
    stream.receiverIncarnation = receiver.incarnation;
    receiver.stageChunk(stream.id, chunk, stream.chunks[chunk]);
    stream.chunksStaged++;
    this.stats.snapshotChunksDelivered++;
    if (chunk < stream.chunks.length - 1) {
      this.acknowledge(stream, chunk);
      return;
    }
    this.complete(stream, receiver);
  }

  /** The last chunk is staged: check the whole, and only then let the core see the snapshot. */
  private complete(stream: SnapshotStream, receiver: SimMember): void {
    const image = receiver.takeStagedStream(stream.id);
    const snapshot = stream.message.snapshot;
    if (snapshot === null) return;
    if (image === null || hashBytes(image) !== stream.checksum) {
      this.stats.snapshotChecksumFailures++;
      return this.abort(stream, 'checksum mismatch', true);
    }
    this.streams.delete(stream.id);
    this.stats.snapshotsCompleted++;
    receiver.keepStagedSnapshot(snapshot.metadata.index, image);
    this.host.trace(`${stream.from}->${stream.to} snapshot ${snapshot.metadata.index} stream ${stream.id} received whole, checksum ok`);
    this.host.deliver(receiver, { ...stream.message, snapshot: { ...snapshot, data: image } });
    const backMs = this.host.network.streamFrameDelayMs(stream.to, stream.from, false);
    // The sender learns of success by the receiver's answer; without it, it times out and calls
    // the send failed (the core then probes and finds the follower caught up).
    if (backMs === null) this.host.reportStatus(stream.from, stream.senderIncarnation, stream.to, false, this.failureDetectMs);
    else this.host.reportStatus(stream.from, stream.senderIncarnation, stream.to, true, backMs);
  }

  private acknowledge(stream: SnapshotStream, chunk: number): void {
    const delayMs = this.host.network.streamFrameDelayMs(stream.to, stream.from, false);
    if (delayMs === null) return this.abort(stream, 'acknowledgement link cut', true);
    this.host.schedule(delayMs, { kind: 'snapshot-chunk-ack', stream: stream.id, chunk });
  }

  private onChunkAck(stream: SnapshotStream, chunk: number): void {
    if (!this.senderAlive(stream)) return this.abort(stream, 'sender crashed', false);
    this.sendChunk(stream, chunk + 1);
  }

  private senderAlive(stream: SnapshotStream): boolean {
    const sender = this.host.member(stream.from);
    return sender?.node != null && sender.incarnation === stream.senderIncarnation;
  }

  /** Ends a stream half-way: the receiver drops what it staged; the sender's core hears "failed". */
  private abort(stream: SnapshotStream, reason: string, reportToSender: boolean): void {
    this.streams.delete(stream.id);
    this.host.member(stream.to)?.discardStagedStream(stream.id);
    this.stats.snapshotsAborted++;
    if (stream.chunksStaged > 0) this.stats.snapshotsAbortedMidway++;
    this.host.trace(`${stream.from}->${stream.to} snapshot stream ${stream.id} aborted after ${stream.chunksStaged}/${stream.chunks.length} chunks: ${reason}`);
    if (reportToSender && this.senderAlive(stream)) {
      this.host.reportStatus(stream.from, stream.senderIncarnation, stream.to, false, this.failureDetectMs);
    }
  }
}

/** `count` chunks of nearly equal size (fewer when the data is shorter than `count` bytes). */
export function cutIntoChunks(data: Uint8Array, count: number): Uint8Array[] {
  const chunkBytes = Math.max(1, Math.ceil(data.byteLength / count));
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < data.byteLength; offset += chunkBytes) chunks.push(data.subarray(offset, offset + chunkBytes));
  if (chunks.length === 0) chunks.push(data);
  return chunks;
}
