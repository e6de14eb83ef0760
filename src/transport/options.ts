// What the member process configures, the defaults, and their validation (done once, up front, so
// a bad limit fails at startup rather than on the first message).

import type { Message } from '../raft/index.js';
import type { PeerTlsOptions } from './credentials.js';
import { InvalidTransportOptionsError } from './errors.js';
import { silentLogger, type TransportLogger } from './log.js';
import type { SnapshotMessage, SnapshotSink } from './snapshot-stream.js';

const MiB = 1024 * 1024;

export const transportDefaults = {
  /** etcd's stream buffer size: enough for bursts of appends and heartbeats to a slow peer. */
  queueMessagesMax: 4096,
  /** A message that waited longer than this for a peer's stream is dropped instead of sent. */
  queuedMessageMaxAgeMs: 1000,
  /**
   * The gRPC max send and receive message length, for both RPCs. Raft appends are bounded by
   * `messageBytesMax` (1 MiB by default), so 16 MiB leaves room for batches and big entries.
   */
  frameBytesMax: 16 * MiB,
  snapshotChunkBytes: 1 * MiB,
  /**
   * etcd's largest supported backend quota (8 GiB): a snapshot body is refused once more than this
   * has arrived. Bodies are streamed to disk, never held in memory, so the bound is the quota's.
   */
  snapshotBytesMax: 8 * 1024 * MiB,
  reconnectDelayMs: { initial: 50, max: 2_000 },
  /** Per URL tried by `PeerTransport.identify`: connecting and answering. */
  identifyTimeoutMs: 2_000,
} as const;

export interface TransportOptions {
  memberId: number;
  /** Every stream carries it; a peer from another cluster is refused. */
  clusterId: number;
  logger?: TransportLogger;
  tls?: PeerTlsOptions;
  /** Per peer. Beyond it, messages for that peer are dropped, counted and logged. */
  queueMessagesMax?: number;
  /** Messages that waited longer than this for a down peer's stream are dropped, not sent late. */
  queuedMessageMaxAgeMs?: number;
  /** The largest gRPC message sent or accepted: a batch of messages, or a snapshot chunk. */
  frameBytesMax?: number;
  /** Snapshots are streamed in chunks of this size. */
  snapshotChunkBytes?: number;
  /** The largest snapshot body this member accepts, counted as it arrives; beyond it the stream is refused. */
  snapshotBytesMax?: number;
  /** Delay before reconnecting to a peer: doubles per failed attempt from `initial` up to `max`. */
  reconnectDelayMs?: { initial: number; max: number };
  /** Inbound messages, for the local RawNode.step. */
  onMessages(messages: Message[]): void;
  /** A peer could not be reached (a stream failed, or messages for it were dropped): RawNode.reportUnreachable. */
  onUnreachable(peerId: number): void;
  /** A MsgSnap was fully delivered (true) or failed (false): RawNode.reportSnapshot. */
  onSnapshotStatus(peerId: number, ok: boolean): void;
  /** Where to dial a peer URL instead of itself (a fault-injection proxy); undefined: as advertised. Asked whenever a peer is added or updated. */
  dialUrl?: (advertisedUrl: string) => string | undefined;
  /** A peer's address refused a connection: nothing listens there, its process is gone. */
  onPeerGone?(peerId: number): void;
  /**
   * An inbound MsgSnap's header arrived: where should its body go? Throw to refuse the stream.
   * Absent: snapshots are refused. What the sink's finish() returns is handed to onMessages.
   */
  onSnapshotStream?(header: SnapshotMessage): SnapshotSink;
  /** Answers a peer's forward() (absent: such requests are refused). */
  onForward?(from: number, request: Uint8Array): Promise<Uint8Array>;
}

/** For `PeerTransport.identify`, which runs before the member has a transport of its own. */
export interface IdentifyOptions {
  /** Needed for https URLs, as for normal peer connections. */
  tls?: PeerTlsOptions;
  /** The deadline of each URL's attempt. */
  timeoutMs?: number;
}

export interface TransportSettings {
  readonly memberId: number;
  readonly clusterId: number;
  readonly logger: TransportLogger;
  readonly queueMessagesMax: number;
  readonly queuedMessageMaxAgeMs: number;
  readonly frameBytesMax: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotBytesMax: number;
  readonly reconnectDelayMs: { readonly initial: number; readonly max: number };
}

function requireCount(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidTransportOptionsError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

export function resolveSettings(options: TransportOptions): TransportSettings {
  const frameBytesMax = requireCount('frameBytesMax', options.frameBytesMax ?? transportDefaults.frameBytesMax, 64 * 1024, 2 ** 31 - 1);
  const delay = options.reconnectDelayMs ?? transportDefaults.reconnectDelayMs;
  const initialDelay = requireCount('reconnectDelayMs.initial', delay.initial, 1);
  return {
    memberId: requireCount('memberId', options.memberId, 1),
    clusterId: requireCount('clusterId', options.clusterId, 0),
    logger: options.logger ?? silentLogger,
    queueMessagesMax: requireCount('queueMessagesMax', options.queueMessagesMax ?? transportDefaults.queueMessagesMax, 1),
    queuedMessageMaxAgeMs: requireCount('queuedMessageMaxAgeMs', options.queuedMessageMaxAgeMs ?? transportDefaults.queuedMessageMaxAgeMs, 1),
    frameBytesMax,
    // A chunk travels with a one-byte frame tag; the default shrinks to fit a small frame.
    snapshotChunkBytes: requireCount('snapshotChunkBytes', options.snapshotChunkBytes ?? Math.min(transportDefaults.snapshotChunkBytes, frameBytesMax - 1), 1, frameBytesMax - 1),
    snapshotBytesMax: requireCount('snapshotBytesMax', options.snapshotBytesMax ?? transportDefaults.snapshotBytesMax, 0),
    reconnectDelayMs: { initial: initialDelay, max: requireCount('reconnectDelayMs.max', delay.max, initialDelay) },
  };
}

export function resolveIdentifyTimeoutMs(options: IdentifyOptions): number {
  return requireCount('timeoutMs', options.timeoutMs ?? transportDefaults.identifyTimeoutMs, 1);
}
