// The store's keys in memory, headers only (values are in LevelDB, read through ValueStore): the
// index from key to its history (KeyIndex) as a B+ tree, so a range scan costs O(log n + k) for k
// keys in the range; how many keys are live; and the same records in revision order, from which
// watchers catch up. One KeySpace is the whole state of one loaded database (store-image.ts); an
// install replaces it.

import BTreeModule from 'sorted-btree';
import { keyToString } from './codec.js';
import { MvccCorruptError } from './errors.js';
import { KeyIndex } from './key-index.js';
import type { StoredRecord } from './stored-record.js';

// sorted-btree is CommonJS: Node's ESM loader hands its exports object to a default import (the
// class is `.default`), while bundlers and test runners may hand the class itself.
const BTree: typeof BTreeModule.default =
  (BTreeModule as unknown as { default?: typeof BTreeModule.default }).default ?? (BTreeModule as unknown as typeof BTreeModule.default);

export class KeySpace {
  readonly index = new BTree<string, KeyIndex>();
  /** Live keys at the current revision (an open transaction's changes included). */
  liveKeys = 0;
  /**
   * Every retained record at or above the compacted revision, in revision order: watchers catch
   * up from here in O(log n + changes) instead of scanning every key of their range.
   */
  history: StoredRecord[] = [];

  /** Adds a record read from disk (records of one key arrive oldest first) in a store compacted at `compacted`. */
  appendLoaded(record: StoredRecord, compacted: number): void {
    const name = record.name;
    let keyIndex = this.index.get(name);
    const last = keyIndex?.last();
    if (record.tombstone && (last === undefined || last.tombstone)) throw new MvccCorruptError(`tombstone ${record.main}.${record.sub} for a key that is not live`);
    if (last !== undefined && (last.main > record.main || (last.main === record.main && last.sub >= record.sub))) {
      throw new MvccCorruptError(`records of one key out of order at ${record.main}.${record.sub}`);
    }
    if (keyIndex === undefined) {
      keyIndex = new KeyIndex(name);
      this.index.set(name, keyIndex);
    }
    const wasLive = last !== undefined && !last.tombstone;
    keyIndex.append(record);
    if (record.main >= compacted) this.history.push(record);
    if (record.tombstone) this.liveKeys--;
    else if (!wasLive) this.liveKeys++;
  }

  /** Calls `visit` for every KeyIndex in the range, in key order (range_end as in MvccStore.range). */
  scan(key: Uint8Array, rangeEnd: Uint8Array, visit: (keyIndex: KeyIndex) => void): void {
    const low = keyToString(key);
    if (rangeEnd.byteLength === 0) {
      const keyIndex = this.index.get(low);
      if (keyIndex !== undefined) visit(keyIndex);
      return;
    }
    const high = rangeEnd.byteLength === 1 && rangeEnd[0] === 0 ? null : keyToString(rangeEnd);
    if (high !== null && high <= low) return;
    for (const [name, keyIndex] of this.index.entries(low)) {
      if (high !== null && name >= high) break;
      visit(keyIndex);
    }
  }

  /**
   * Drops history below `revision` as MvccStore.compact describes, from the index and from the
   * revision-ordered history; `dropped` is told of every record removed. One pass over the index.
   */
  compact(revision: number, dropped: (record: StoredRecord) => void): void {
    const emptied: string[] = [];
    this.index.forEach((keyIndex, name) => {
      for (const record of keyIndex.compact(revision)) dropped(record);
      if (keyIndex.isEmpty) emptied.push(name);
    });
    for (const name of emptied) this.index.delete(name);
    this.dropHistoryBelow(revision);
  }

  /** Keeps in `history` only what compaction kept at or above `revision` (a tombstone at it goes). */
  private dropHistoryBelow(revision: number): void {
    let first = this.firstHistoryAt(revision);
    const kept: StoredRecord[] = [];
    for (; first < this.history.length; first++) {
      const record = this.history[first];
      if (record.main > revision || this.index.get(record.name)?.recordAt(revision) === record) kept.push(record);
    }
    this.history = kept;
  }

  /** The position of the first history record with main revision ≥ `revision`. */
  firstHistoryAt(revision: number): number {
    let low = 0;
    let high = this.history.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.history[middle].main < revision) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
