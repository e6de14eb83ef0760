// The store's on-disk layout (layout version 2): record headers and values under separate key
// prefixes, so rebuilding the index at open reads only the headers, never a value block.
//
//   'h' + main u64 BE + sub u64 BE → a record header: crc u32 (over everything after it), flags u8
//                                    (bit 0: tombstone, bit 1: the lease is an int64),
//                                    createRevision f64, modRevision f64, version f64, lease (8
//                                    bytes), key length u32, key, value length u32
//   'v' + main u64 BE + sub u64 BE → the record's value: crc u32 (over the value), value. Absent
//                                    for tombstones and empty values.
//   'L'                            → the layout version, u32 BE (absent: version 1)
//   'm', 'x:' + name               → meta and member metadata, as in codec.ts
//
// Layout version 1 kept each record whole (value included) under 'r' + revision (codec.ts's
// encodeRecord). convertLegacyRecords() moves such records to the headers/values form in batches,
// each one atomic (the new keys put and the old key deleted together), so a crash part-way leaves
// every record in exactly one of the two forms and the next open carries on.

import type { ClassicLevel } from 'classic-level';
import { crc32, decodeRecord, decodeRecordKey, keyToString, recordKeyRange, writeRecordFields } from './codec.js';
import { MvccCorruptError } from './errors.js';
import { REVISION_BYTES, readRevision, writeRevision } from './revision.js';
import { StoredRecord } from './stored-record.js';

export const LAYOUT_VERSION = 2;
export const LAYOUT_KEY = Buffer.from('L');
const HEADER_PREFIX = 0x68; // 'h'
const VALUE_PREFIX = 0x76; // 'v'

export const headerKeyRange = { gte: Buffer.from([HEADER_PREFIX]), lt: Buffer.from([HEADER_PREFIX + 1]) };
export const valueKeyRange = { gte: Buffer.from([VALUE_PREFIX]), lt: Buffer.from([VALUE_PREFIX + 1]) };

/** Legacy records converted per batch: bounded so a big store converts without a big batch in memory. */
const CONVERT_BATCH_BYTES_MAX = 8 * 1024 * 1024;

const HEADER_FIXED = 4 + 1 + 4 * 8 + 4;
const FLAG_TOMBSTONE = 1;
const FLAG_WIDE_LEASE = 2;

function revisionKey(prefix: number, main: number, sub: number): Buffer {
  const bytes = Buffer.allocUnsafe(1 + REVISION_BYTES);
  bytes[0] = prefix;
  writeRevision({ main, sub }, bytes, 1);
  return bytes;
}

export function headerKey(record: StoredRecord): Buffer {
  return revisionKey(HEADER_PREFIX, record.main, record.sub);
}

export function valueKey(record: StoredRecord): Buffer {
  return revisionKey(VALUE_PREFIX, record.main, record.sub);
}

export function encodeHeader(record: StoredRecord): Buffer {
  const keyBytes = record.name.length;
  const bytes = Buffer.alloc(HEADER_FIXED + keyBytes + 4);
  writeRecordFields(bytes, record.tombstone, { createRevision: record.createRevision, modRevision: record.main, version: record.version, lease: record.lease });
  bytes.writeUInt32BE(keyBytes, 37);
  bytes.write(record.name, HEADER_FIXED, 'latin1');
  bytes.writeUInt32BE(record.valueBytes, HEADER_FIXED + keyBytes);
  bytes.writeUInt32BE(crc32(bytes.subarray(4)), 0);
  return bytes;
}

/**
 * Decodes a header stored under `key`. `nameOf` maps the key bytes to the string the index keeps
 * for that key (so a key's records share one string).
 */
export function decodeHeader(key: Buffer, bytes: Buffer, nameOf: (keyBytes: Buffer) => string): StoredRecord {
  if (key.byteLength !== 1 + REVISION_BYTES || key[0] !== HEADER_PREFIX) throw new MvccCorruptError(`bad header key ${key.toString('hex')}`);
  const { main, sub } = readRevision(key, 1);
  const where = `record ${main}.${sub}`;
  if (bytes.byteLength < HEADER_FIXED + 4) throw new MvccCorruptError(`${where} is truncated`);
  if (bytes.readUInt32BE(0) !== crc32(bytes.subarray(4))) throw new MvccCorruptError(`${where} fails its checksum`);
  const flags = bytes.readUInt8(4);
  const keyBytes = bytes.readUInt32BE(37);
  if (HEADER_FIXED + keyBytes + 4 !== bytes.byteLength) throw new MvccCorruptError(`${where} has a bad key length`);
  if (bytes.readDoubleBE(13) !== main) throw new MvccCorruptError(`${where} has mod revision ${bytes.readDoubleBE(13)}`);
  const leaseDouble = bytes.readDoubleBE(29);
  let lease = 0n;
  if ((flags & FLAG_WIDE_LEASE) !== 0) lease = bytes.readBigInt64BE(29);
  else if (leaseDouble !== 0) {
    if (!Number.isSafeInteger(leaseDouble)) throw new MvccCorruptError(`${where} has a bad lease ${leaseDouble}`);
    lease = BigInt(leaseDouble);
  }
  const tombstone = (flags & FLAG_TOMBSTONE) !== 0;
  const valueBytes = bytes.readUInt32BE(HEADER_FIXED + keyBytes);
  if (tombstone && valueBytes !== 0) throw new MvccCorruptError(`${where} is a tombstone with a value`);
  return new StoredRecord(nameOf(bytes.subarray(HEADER_FIXED, HEADER_FIXED + keyBytes)), main, sub, bytes.readDoubleBE(5), bytes.readDoubleBE(21), lease, valueBytes, tombstone);
}

/** A value as stored: its checksum, then the bytes (one copy). */
export function encodeValue(value: Uint8Array): Buffer {
  // From Node's shared pool: it lives only until its batch is written.
  const bytes = Buffer.allocUnsafe(4 + value.byteLength);
  bytes.set(value, 4);
  bytes.writeUInt32BE(crc32(value), 0);
  return bytes;
}

/** The value inside what encodeValue wrote, checked against the header's length and the checksum. */
export function decodeValue(record: StoredRecord, bytes: Buffer | undefined): Buffer {
  const where = `the value of record ${record.main}.${record.sub}`;
  if (bytes === undefined) throw new MvccCorruptError(`${where} is missing`);
  const value = bytes.subarray(4);
  if (value.byteLength !== record.valueBytes) throw new MvccCorruptError(`${where} has ${value.byteLength} bytes, not ${record.valueBytes}`);
  if (bytes.readUInt32BE(0) !== crc32(value)) throw new MvccCorruptError(`${where} fails its checksum`);
  return value;
}

/** The layout version the database was written in (1 when it holds no layout key). */
export async function layoutVersion(db: ClassicLevel<Buffer, Buffer>): Promise<number> {
  const stored = await db.get(LAYOUT_KEY);
  if (stored === undefined) return 1;
  if (stored.byteLength !== 4) throw new MvccCorruptError('the layout version record is damaged');
  return stored.readUInt32BE(0);
}

/**
 * Brings a database to layout version 2: converts every layout-1 record, then writes the layout
 * version. Returns the number of records converted. A database from a newer version is refused.
 */
export async function upgradeLayout(db: ClassicLevel<Buffer, Buffer>): Promise<number> {
  const version = await layoutVersion(db);
  if (version === LAYOUT_VERSION) return 0;
  if (version !== 1) throw new MvccCorruptError(`the store has layout version ${version}; this version reads up to ${LAYOUT_VERSION}`);
  let converted = 0;
  let batch = db.batch();
  let batchBytes = 0;
  for await (const [key, body] of db.iterator(recordKeyRange)) {
    const legacy = decodeRecord(decodeRecordKey(key), body);
    const { kv } = legacy;
    const record = new StoredRecord(keyToString(kv.key), legacy.revision.main, legacy.revision.sub, kv.createRevision, kv.version, kv.lease, legacy.tombstone ? 0 : kv.value.byteLength, legacy.tombstone);
    batch.put(headerKey(record), encodeHeader(record));
    if (record.valueBytes > 0) batch.put(valueKey(record), encodeValue(kv.value));
    batch.del(key);
    converted++;
    batchBytes += body.byteLength;
    if (batchBytes >= CONVERT_BATCH_BYTES_MAX) {
      await batch.write({ sync: true });
      batch = db.batch();
      batchBytes = 0;
    }
  }
  const layout = Buffer.alloc(4);
  layout.writeUInt32BE(LAYOUT_VERSION);
  batch.put(LAYOUT_KEY, layout);
  await batch.write({ sync: true });
  return converted;
}
