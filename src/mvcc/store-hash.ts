// etcd's HashKV over the store: a crc32 of every retained record up to a revision, key by key and
// revision by revision, each as the revision's bytes then the record's layout-1 encoding (its
// value included), so the hash does not depend on how the store lays records out on disk.

import { crc32Update, encodeRecord } from './codec.js';
import { CompactedRevisionError, FutureRevisionError } from './errors.js';
import type { KeyIndex } from './key-index.js';
import { revisionToBytes } from './revision.js';
import type { StoredRecord } from './stored-record.js';
import type { DbSnapshot, ValueStore } from './value-store.js';

/** Records hashed per turn of the event loop by hashRecordsYielding (a few ms of value reads). */
const HASH_SLICE_RECORDS = 1000;

export interface HashResult {
  /** CRC-32 (IEEE) over the retained history up to hashRevision; see MvccStore.hash. */
  readonly hash: number;
  readonly compactRevision: number;
  readonly hashRevision: number;
  /** The store's current revision. */
  readonly revision: number;
}

/** The revision a hash at `asked` covers (0: the current one); throws etcd's errors for one it cannot. */
export function hashRevision(asked: number, current: number, compacted: number): number {
  if (asked > current) throw new FutureRevisionError(asked, current);
  const at = asked <= 0 ? current : asked;
  requireHashable(at, asked, compacted);
  return at;
}

export function requireHashable(at: number, asked: number, compacted: number): void {
  // Unlike a range, etcd 3.4 refuses a hash at the compacted revision itself (asked for, not 0).
  if (asked > 0 ? at <= compacted : at < compacted) throw new CompactedRevisionError(at, compacted);
}

/** The records a hash at `at` covers, in the order it hashes them: by key, then by revision. */
export function hashedRecords(keys: { forEach(visit: (keyIndex: KeyIndex) => void): unknown }, at: number): StoredRecord[] {
  const records: StoredRecord[] = [];
  keys.forEach((keyIndex) => {
    for (const record of keyIndex.records()) {
      if (record.main > at) break;
      records.push(record);
    }
  });
  return records;
}

/** Folds records[from, to) into `crc`, reading each value as `read` says. */
export function hashRecords(values: ValueStore, records: readonly StoredRecord[], from: number, to: number, crc: number, read: Parameters<ValueStore['read']>[1]): number {
  for (let i = from; i < to; i++) {
    const record = records[i]!;
    crc = crc32Update(crc, revisionToBytes(record.revision));
    crc = crc32Update(crc, encodeRecord(record.withValue(values.read(record, read))).subarray(4));
  }
  return crc;
}

/**
 * Hashes every record, reading values from `snapshot` past the cache HASH_SLICE_RECORDS at a time
 * and yielding to the event loop between slices.
 */
export async function hashRecordsYielding(values: ValueStore, records: readonly StoredRecord[], snapshot: DbSnapshot): Promise<number> {
  let crc = 0;
  for (let from = 0; from < records.length; from += HASH_SLICE_RECORDS) {
    if (from > 0) await new Promise((resolve) => setImmediate(resolve));
    crc = hashRecords(values, records, from, Math.min(records.length, from + HASH_SLICE_RECORDS), crc, { cache: false, snapshot });
  }
  return crc;
}
