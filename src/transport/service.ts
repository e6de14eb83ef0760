// The wire contract between members: the gRPC service, how its frames are serialized and the
// metadata every stream carries. Frames are encoded by the raftpb codec directly (no proto-loader),
// so a message is encoded exactly once.
//
// service raftkv.transport.Raft {
//   rpc MessageStream(stream MessageBatch) returns (Ack);   // long-lived, one per peer
//   rpc SnapshotStream(stream SnapshotFrame) returns (Ack); // one per MsgSnap
//   rpc Identify(Empty) returns (Identity);                 // unary, no cluster-id check
//   rpc Forward(Bytes) returns (Bytes);                     // unary, member to member
// }
//
// Forward carries a request the member layer defines (for example a lease renewal, which only the
// leader can answer) and its answer, as opaque bytes; the transport checks only the stream header.
//
// A SnapshotFrame is one tag byte and a payload: tag 1 = header, a MessageBatch holding the MsgSnap
// (its snapshot data as the sender set it, normally empty); tag 2 = the next chunk of the body,
// raw. The body's length is not known up front (it is read from a database as it goes), so the
// receiver counts it as it arrives and refuses a stream past its limit. Ack and Empty are empty.
//
// Identify answers the listener's { clusterId, memberId } to anyone who asks, so a member joining
// an existing cluster learns the cluster id before it has one. An Identity is 16 bytes: the two
// ids as big-endian float64, each a safe integer >= 0.

import { Metadata, status, type MethodDefinition, type ServerErrorResponse, type ServiceDefinition } from '@grpc/grpc-js';
import type { Message } from '../raft/index.js';
import { decodeMessageBatch, encodeMessageBatch } from '../raftpb/codec.js';
import {
  ClusterIdMismatchError,
  MemberIdMismatchError,
  MissingStreamHeaderError,
  TransportError,
  TransportErrorCode,
} from './errors.js';

export const MESSAGE_STREAM_PATH = '/raftkv.transport.Raft/MessageStream';
export const SNAPSHOT_STREAM_PATH = '/raftkv.transport.Raft/SnapshotStream';
export const IDENTIFY_PATH = '/raftkv.transport.Raft/Identify';
export const FORWARD_PATH = '/raftkv.transport.Raft/Forward';

/** The empty response of both stream RPCs: a stream's outcome is its status. */
export type Ack = Readonly<Record<string, never>>;
export const ACK: Ack = Object.freeze({});
/** The empty request of Identify. */
export type Empty = Ack;
export const EMPTY: Empty = ACK;

/** Who answers at a peer URL: Identify's response. */
export interface Identity {
  readonly clusterId: number;
  readonly memberId: number;
}

const IDENTITY_BYTES = 16;
const EMPTY_BUFFER = Buffer.alloc(0);

export type SnapshotFrame =
  | { readonly kind: 'header'; readonly message: Message }
  | { readonly kind: 'chunk'; readonly data: Uint8Array };

const SNAPSHOT_HEADER_TAG = 1;
const SNAPSHOT_CHUNK_TAG = 2;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function serializeMessageBatch(messages: readonly Message[]): Buffer {
  return asBuffer(encodeMessageBatch(messages));
}

export function deserializeMessageBatch(bytes: Buffer): Message[] {
  return decodeMessageBatch(bytes);
}

export function serializeSnapshotFrame(frame: SnapshotFrame): Buffer {
  const payload = frame.kind === 'header' ? encodeMessageBatch([frame.message]) : frame.data;
  const bytes = Buffer.allocUnsafe(1 + payload.byteLength);
  bytes[0] = frame.kind === 'header' ? SNAPSHOT_HEADER_TAG : SNAPSHOT_CHUNK_TAG;
  bytes.set(payload, 1);
  return bytes;
}

/** Throws on an unknown tag or a header that is not exactly one message; gRPC fails the call. */
export function deserializeSnapshotFrame(bytes: Buffer): SnapshotFrame {
  const payload = bytes.subarray(1);
  switch (bytes[0]) {
    case SNAPSHOT_HEADER_TAG: {
      const messages = decodeMessageBatch(payload);
      if (messages.length !== 1) throw new Error(`snapshot header holds ${messages.length} messages`);
      return { kind: 'header', message: messages[0]! };
    }
    case SNAPSHOT_CHUNK_TAG:
      return { kind: 'chunk', data: payload };
    default:
      throw new Error(`unknown snapshot frame tag ${bytes[0]}`);
  }
}

function serializeAck(): Buffer {
  return EMPTY_BUFFER;
}

function deserializeAck(): Ack {
  return ACK;
}

export function serializeIdentity(identity: Identity): Buffer {
  const bytes = Buffer.allocUnsafe(IDENTITY_BYTES);
  bytes.writeDoubleBE(identity.clusterId, 0);
  bytes.writeDoubleBE(identity.memberId, 8);
  return bytes;
}

/** Throws on anything but 16 bytes holding two safe non-negative integers; gRPC fails the call. */
export function deserializeIdentity(bytes: Buffer): Identity {
  if (bytes.byteLength !== IDENTITY_BYTES) throw new Error(`identity of ${bytes.byteLength} bytes, expected ${IDENTITY_BYTES}`);
  const clusterId = bytes.readDoubleBE(0);
  const memberId = bytes.readDoubleBE(8);
  for (const id of [clusterId, memberId]) {
    if (!Number.isSafeInteger(id) || id < 0) throw new Error(`identity holds an invalid id ${id}`);
  }
  return { clusterId, memberId };
}

export const messageStreamMethod: MethodDefinition<readonly Message[], Ack> = {
  path: MESSAGE_STREAM_PATH,
  requestStream: true,
  responseStream: false,
  requestSerialize: serializeMessageBatch,
  requestDeserialize: deserializeMessageBatch,
  responseSerialize: serializeAck,
  responseDeserialize: deserializeAck,
};

export const snapshotStreamMethod: MethodDefinition<SnapshotFrame, Ack> = {
  path: SNAPSHOT_STREAM_PATH,
  requestStream: true,
  responseStream: false,
  requestSerialize: serializeSnapshotFrame,
  requestDeserialize: deserializeSnapshotFrame,
  responseSerialize: serializeAck,
  responseDeserialize: deserializeAck,
};

export const identifyMethod: MethodDefinition<Empty, Identity> = {
  path: IDENTIFY_PATH,
  requestStream: false,
  responseStream: false,
  requestSerialize: serializeAck,
  requestDeserialize: deserializeAck,
  responseSerialize: serializeIdentity,
  responseDeserialize: deserializeIdentity,
};

function identityBytes(bytes: Uint8Array): Buffer {
  return asBuffer(bytes);
}

export const forwardMethod: MethodDefinition<Uint8Array, Uint8Array> = {
  path: FORWARD_PATH,
  requestStream: false,
  responseStream: false,
  requestSerialize: identityBytes,
  requestDeserialize: identityBytes,
  responseSerialize: identityBytes,
  responseDeserialize: identityBytes,
};

export const raftService: ServiceDefinition = {
  messageStream: messageStreamMethod,
  snapshotStream: snapshotStreamMethod,
  identify: identifyMethod,
  forward: forwardMethod,
};

const HEADER_CLUSTER_ID = 'raftkv-cluster-id';
const HEADER_FROM = 'raftkv-from';
const HEADER_TO = 'raftkv-to';
const HEADER_MEMBER_ID = 'raftkv-member-id';

/** Who opened a stream, to whom, in which cluster: sent by the client with every call. */
export interface StreamHeader {
  readonly clusterId: number;
  readonly from: number;
  readonly to: number;
}

export function streamMetadata(header: StreamHeader): Metadata {
  const metadata = new Metadata();
  metadata.set(HEADER_CLUSTER_ID, String(header.clusterId));
  metadata.set(HEADER_FROM, String(header.from));
  metadata.set(HEADER_TO, String(header.to));
  return metadata;
}

function readCount(metadata: Metadata, key: string): number {
  const [value] = metadata.get(key);
  const parsed = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) throw new MissingStreamHeaderError(key);
  return parsed;
}

export function readStreamHeader(metadata: Metadata): StreamHeader {
  return { clusterId: readCount(metadata, HEADER_CLUSTER_ID), from: readCount(metadata, HEADER_FROM), to: readCount(metadata, HEADER_TO) };
}

/** Throws unless a stream is meant for this member of this cluster. */
export function checkStreamHeader(header: StreamHeader, local: { clusterId: number; memberId: number }): void {
  if (header.clusterId !== local.clusterId) throw new ClusterIdMismatchError(local.clusterId, header.clusterId);
  if (header.to !== local.memberId) throw new MemberIdMismatchError(local.memberId, header.to);
}

/**
 * Sent by the server as soon as it accepts a message stream. It tells the client the stream is
 * live (gRPC sends no response headers on a client stream otherwise) and lets the client check, in
 * turn, that the URL leads to the member and cluster it expects.
 */
export function acceptanceMetadata(local: { clusterId: number; memberId: number }): Metadata {
  const metadata = new Metadata();
  metadata.set(HEADER_CLUSTER_ID, String(local.clusterId));
  metadata.set(HEADER_MEMBER_ID, String(local.memberId));
  return metadata;
}

/** Returns null for metadata that carries no acceptance (e.g. a trailers-only error response). */
export function readAcceptance(metadata: Metadata): { clusterId: number; memberId: number } | null {
  try {
    return { clusterId: readCount(metadata, HEADER_CLUSTER_ID), memberId: readCount(metadata, HEADER_MEMBER_ID) };
  } catch {
    return null;
  }
}

/** The sender a stream claims to come from, for logs about streams that fail the checks. */
export function claimedSender(metadata: Metadata): string {
  const [from] = metadata.get(HEADER_FROM);
  return typeof from === 'string' ? from : 'unknown';
}

/** A refusal as a gRPC status; the details start with the stable code, for the other side's logs. */
export function toServiceError(error: unknown): ServerErrorResponse {
  if (!(error instanceof TransportError)) {
    const message = error instanceof Error ? error.message : String(error);
    return Object.assign(new Error(message), { code: status.INTERNAL, details: message });
  }
  const code =
    error.code === TransportErrorCode.SnapshotTooLarge
      ? status.RESOURCE_EXHAUSTED
      : error.code === TransportErrorCode.SnapshotStreamMalformed
        ? status.INVALID_ARGUMENT
        : status.FAILED_PRECONDITION;
  return Object.assign(new Error(error.message), { code, details: `${error.code}: ${error.message}` });
}
