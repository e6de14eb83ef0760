// The value of every record is [CRC-32 of the payload, 4 bytes big-endian][payload]. Payloads are
// the raftpb protobuf forms (entries, hard state, snapshot) or, for the identity, JSON.
// A decoder either returns exactly what was written or throws DamagedRecordError; the caller
// decides whether the damage is a torn tail to drop or corruption to refuse.

import { decodeEntry, decodeHardState, decodeSnapshot, encodeEntry, encodeHardState, encodeSnapshot } from '../raftpb/codec.js';
import { EntryType, type Entry, type HardState, type Snapshot } from '../raft/index.js';
import { crc32 } from './crc32.js';
import type { MemberIdentity } from './identity.js';

const CRC_BYTES = 4;
const EMPTY = new Uint8Array(0);

/** Bumped when the layout changes incompatibly; recorded with the identity. */
export const FORMAT_VERSION = 1;

/** A record's bytes do not match its checksum or do not decode. */
export class DamagedRecordError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = new.target.name;
  }
}

/** The index and term of the log's first, absent entry: MemoryStorage's dummy. */
export interface LogStart {
  readonly index: number;
  readonly term: number;
}

export interface StoredIdentity extends MemberIdentity {
  readonly format: number;
}

function frame(payload: Uint8Array): Buffer {
  const value = Buffer.allocUnsafe(CRC_BYTES + payload.length);
  value.writeUInt32BE(crc32(payload), 0);
  value.set(payload, CRC_BYTES);
  return value;
}

function unframe(value: Uint8Array): Uint8Array {
  if (value.length < CRC_BYTES) throw new DamagedRecordError(`record is ${value.length} bytes, shorter than its checksum`);
  const stored = Buffer.from(value.buffer, value.byteOffset, CRC_BYTES).readUInt32BE(0);
  const payload = value.subarray(CRC_BYTES);
  if (crc32(payload) !== stored) throw new DamagedRecordError('checksum mismatch');
  return payload;
}

/** Runs a protobuf or JSON decoder on a checksummed payload; a throw means damage, not a bug. */
function decodeWith<T>(value: Uint8Array, decode: (payload: Uint8Array) => T): T {
  const payload = unframe(value);
  try {
    return decode(payload);
  } catch (error) {
    throw new DamagedRecordError('payload does not decode', { cause: error });
  }
}

export function encodeEntryRecord(entry: Entry): Buffer {
  return frame(encodeEntry(entry));
}

/** Decodes the entry stored under `index`; an entry that names another index is damage too. */
export function decodeEntryRecord(value: Uint8Array, index: number): Entry {
  const entry = decodeWith(value, decodeEntry);
  if (entry.index !== index) throw new DamagedRecordError(`entry under index ${index} says it is index ${entry.index}`);
  return { ...entry, data: plainBytes(entry.data) };
}

export function encodeHardStateRecord(hardState: HardState): Buffer {
  return frame(encodeHardState(hardState));
}

export function decodeHardStateRecord(value: Uint8Array): HardState {
  return decodeWith(value, decodeHardState);
}

export function encodeSnapshotRecord(snapshot: Snapshot): Buffer {
  return frame(encodeSnapshot(snapshot));
}

export function decodeSnapshotRecord(value: Uint8Array): Snapshot {
  const snapshot = decodeWith(value, decodeSnapshot);
  return { ...snapshot, data: plainBytes(snapshot.data) };
}

/**
 * protobufjs hands back Buffers; callers saved plain Uint8Arrays. A view over the same memory makes
 * what comes back from disk the same kind of value that went in.
 */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The log start reuses the Entry form: exactly the dummy entry MemoryStorage keeps. */
export function encodeLogStartRecord(start: LogStart): Buffer {
  return frame(encodeEntry({ index: start.index, term: start.term, type: EntryType.Normal, data: EMPTY }));
}

export function decodeLogStartRecord(value: Uint8Array): LogStart {
  const { index, term } = decodeWith(value, decodeEntry);
  return { index, term };
}

export function encodeIdentityRecord(identity: MemberIdentity): Buffer {
  const stored: StoredIdentity = { format: FORMAT_VERSION, clusterId: identity.clusterId, memberId: identity.memberId, name: identity.name };
  return frame(Buffer.from(JSON.stringify(stored), 'utf8'));
}

export function decodeIdentityRecord(value: Uint8Array): StoredIdentity {
  const stored = decodeWith(value, (payload) => JSON.parse(Buffer.from(payload).toString('utf8')) as unknown);
  if (!isStoredIdentity(stored)) throw new DamagedRecordError('identity record lacks its fields');
  return stored;
}

function isStoredIdentity(value: unknown): value is StoredIdentity {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.format === 'number' &&
    Number.isSafeInteger(record.clusterId) &&
    Number.isSafeInteger(record.memberId) &&
    typeof record.name === 'string'
  );
}
