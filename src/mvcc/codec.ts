// The byte forms of the store: revision records, the meta record, and a CRC-32.
//
// The database's record entries are in layout.ts (headers and values apart). The whole revision
// record below is what HashKV encodes, and what layout version 1 stored:
//   'r' + main u64 BE + sub u64 BE  → a revision record (below); read only to convert a layout-1
//                                      store (layout.ts)
//   'm'                             → meta: crc u32, appliedIndex f64, revision f64,
//                                      compactedRevision f64
//   'x:' + name (utf8)              → a member metadata record (getMeta/setMeta), raw bytes
//
// A revision record: crc u32 (over everything after it), flags u8 (bit 0: tombstone, bit 1: the
// lease is an int64), createRevision f64, modRevision f64, version f64, lease (8 bytes), key length
// u32, key, value.
// Numbers are doubles as in the old store: every revision and version is an integer below 2^53.
// A lease ID is any int64. One that a double holds exactly (|id| < 2^53, every ID the store could
// hold before IDs became 64-bit) is still written as a double, flag bit 1 clear, so such records
// are byte for byte what earlier versions wrote and read (HashKV agrees across versions); only a wider ID sets bit 1 and is written as a big-endian int64.

import { keepBytes } from '../bytes/arena.js';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { MvccCorruptError } from './errors.js';
import { REVISION_BYTES, readRevision, writeRevision, type Revision } from './revision.js';

export interface KeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  /** The lease ID (any int64; 0n: none). A bigint, the lease room's LeaseId, which mvcc does not import. */
  readonly lease: bigint;
}

/** One entry of a key's history: a put (the key's value as of that revision) or a tombstone. */
export interface RevisionRecord {
  readonly revision: Revision;
  /** For a tombstone: the key, modRevision = the deleting revision, everything else zero/empty. */
  readonly kv: KeyValue;
  readonly tombstone: boolean;
}

export const RECORD_PREFIX = 0x72; // 'r'
export const META_KEY = Buffer.from('m');
export const EXTRA_META_PREFIX = 'x:';
const EXTRA_META_END = 'x;';

export const recordKeyRange = {
  gte: Buffer.from([RECORD_PREFIX]),
  lt: Buffer.from([RECORD_PREFIX + 1]),
};
export const extraMetaKeyRange = {
  gte: Buffer.from(EXTRA_META_PREFIX, 'utf8'),
  lt: Buffer.from(EXTRA_META_END, 'utf8'),
};

/** Continues a CRC-32 (IEEE, as zlib) over `bytes`; start with 0. crc32Update(crc32Update(0, a), b) = crc32(a ‖ b). */
export function crc32Update(crc: number, bytes: Uint8Array): number {
  return zlibCrc32(bytes, crc);
}

export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes);
}

/** Bytes as a latin1 string: one char per byte, so string order is byte order. */
export function keyToString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function stringToKey(name: string): Buffer {
  return Buffer.from(name, 'latin1');
}

export function recordKey(revision: Revision): Buffer {
  const bytes = Buffer.alloc(1 + REVISION_BYTES);
  bytes[0] = RECORD_PREFIX;
  writeRevision(revision, bytes, 1);
  return bytes;
}

export function decodeRecordKey(bytes: Buffer): Revision {
  if (bytes.byteLength !== 1 + REVISION_BYTES || bytes[0] !== RECORD_PREFIX) throw new MvccCorruptError(`bad record key ${bytes.toString('hex')}`);
  return readRevision(bytes, 1);
}

const RECORD_HEADER = 4 + 1 + 4 * 8 + 4;
const FLAG_TOMBSTONE = 1;
const FLAG_WIDE_LEASE = 2;
/** 2^53 − 1: the largest integer up to which every integer is a double. */
const DOUBLE_EXACT_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Bytes 4..36 of a record body, shared with layout 2's headers: flags, create and mod revision,
 * version and lease (a double, or an int64 with the wide-lease flag).
 */
export function writeRecordFields(
  bytes: Buffer,
  tombstone: boolean,
  fields: { readonly createRevision: number; readonly modRevision: number; readonly version: number; readonly lease: bigint },
): void {
  const { lease } = fields;
  const wideLease = lease !== 0n && (lease > DOUBLE_EXACT_MAX || lease < -DOUBLE_EXACT_MAX);
  bytes.writeUInt8((tombstone ? FLAG_TOMBSTONE : 0) | (wideLease ? FLAG_WIDE_LEASE : 0), 4);
  bytes.writeDoubleBE(fields.createRevision, 5);
  bytes.writeDoubleBE(fields.modRevision, 13);
  bytes.writeDoubleBE(fields.version, 21);
  if (wideLease) bytes.writeBigInt64BE(lease, 29);
  else bytes.writeDoubleBE(lease === 0n ? 0 : Number(lease), 29);
}

/** The record's body (without the revision), checksummed. */
export function encodeRecord(record: RevisionRecord): Buffer {
  const { kv } = record;
  const bytes = Buffer.alloc(RECORD_HEADER + kv.key.byteLength + kv.value.byteLength);
  writeRecordFields(bytes, record.tombstone, kv);
  bytes.writeUInt32BE(kv.key.byteLength, 37);
  bytes.set(kv.key, RECORD_HEADER);
  bytes.set(kv.value, RECORD_HEADER + kv.key.byteLength);
  bytes.writeUInt32BE(crc32(bytes.subarray(4)), 0);
  return bytes;
}

/** Decodes a record body; the key and value are copies, independent of `bytes`. */
export function decodeRecord(revision: Revision, bytes: Buffer): RevisionRecord {
  if (bytes.byteLength < RECORD_HEADER) throw new MvccCorruptError(`record ${revision.main}.${revision.sub} is truncated`);
  if (bytes.readUInt32BE(0) !== crc32(bytes.subarray(4))) throw new MvccCorruptError(`record ${revision.main}.${revision.sub} fails its checksum`);
  const flags = bytes.readUInt8(4);
  const keyLength = bytes.readUInt32BE(37);
  if (RECORD_HEADER + keyLength > bytes.byteLength) throw new MvccCorruptError(`record ${revision.main}.${revision.sub} has a bad key length`);
  const kv: KeyValue = {
    key: keepBytes(bytes.subarray(RECORD_HEADER, RECORD_HEADER + keyLength)),
    value: keepBytes(bytes.subarray(RECORD_HEADER + keyLength)),
    createRevision: bytes.readDoubleBE(5),
    modRevision: bytes.readDoubleBE(13),
    version: bytes.readDoubleBE(21),
    lease: (flags & FLAG_WIDE_LEASE) !== 0 ? bytes.readBigInt64BE(29) : doubleLease(bytes.readDoubleBE(29), revision),
  };
  return { revision, kv, tombstone: (flags & FLAG_TOMBSTONE) !== 0 };
}

function doubleLease(value: number, revision: Revision): bigint {
  if (value === 0) return 0n;
  if (!Number.isSafeInteger(value)) throw new MvccCorruptError(`record ${revision.main}.${revision.sub} has a bad lease ${value}`);
  return BigInt(value);
}

export interface MetaRecord {
  readonly appliedIndex: number;
  readonly revision: number;
  readonly compactedRevision: number;
}

export function encodeMeta(meta: MetaRecord): Buffer {
  const bytes = Buffer.alloc(4 + 24);
  bytes.writeDoubleBE(meta.appliedIndex, 4);
  bytes.writeDoubleBE(meta.revision, 12);
  bytes.writeDoubleBE(meta.compactedRevision, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(4)), 0);
  return bytes;
}

export function decodeMeta(bytes: Buffer): MetaRecord {
  if (bytes.byteLength !== 28 || bytes.readUInt32BE(0) !== crc32(bytes.subarray(4))) throw new MvccCorruptError('the meta record is damaged');
  return { appliedIndex: bytes.readDoubleBE(4), revision: bytes.readDoubleBE(12), compactedRevision: bytes.readDoubleBE(20) };
}

export function extraMetaKey(name: string): Buffer {
  return Buffer.from(EXTRA_META_PREFIX + name, 'utf8');
}

export function extraMetaName(key: Buffer): string {
  return key.toString('utf8').slice(EXTRA_META_PREFIX.length);
}
