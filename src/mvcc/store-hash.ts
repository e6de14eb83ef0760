// etcd's HashKV over the store: a crc32 of every retained record up to a revision, key by key and
// revision by revision, each as the revision's bytes then the record's layout-1 encoding (its
// value included), so the hash does not depend on how the store lays records out on disk.

import { crc32Update, encodeRecord } from './codec.js';
import type { KeyIndex } from './key-index.js';
import { revisionToBytes } from './revision.js';
import type { StoredRecord } from './stored-record.js';
import type { ValueStore } from './value-store.js';

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
