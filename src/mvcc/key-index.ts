// The history of one key, as generations (etcd's model). A generation is one life of the key: from
// the put that created it to the tombstone that deleted it. Every generation but the last is closed
// by a tombstone; the last one is open (the key is live) or closed (the key is deleted).
//
// Records are in revision order inside a generation and across generations, so "the key as of
// revision R" is the last record with main ≤ R — absent if that is a tombstone. They are held in
// one flat array, generations being the runs that end at tombstones: most keys have one or two
// records, and an array per generation (each with room for 17 on its first push) cost more than
// the records themselves.

import { assert } from './errors.js';
import { isBefore, type StoredRecord } from './stored-record.js';

/** Below this many records an append copies the array at its exact size instead of growing it with spare room. */
const EXACT_SIZE_RECORDS_MAX = 8;

export class KeyIndex {
  /** The key as a latin1 string: the index's key for it, shared with its records. */
  readonly name: string;
  /** Oldest first; a tombstone closes the generation it ends. */
  private history: StoredRecord[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** True when no history is left (every record was compacted away). */
  get isEmpty(): boolean {
    return this.history.length === 0;
  }

  /** The record with the highest revision, if any. */
  last(): StoredRecord | undefined {
    return this.history[this.history.length - 1];
  }

  /** The live record now (ignoring nothing: includes records of an open write transaction). */
  latest(): StoredRecord | undefined {
    const record = this.last();
    return record === undefined || record.tombstone ? undefined : record;
  }

  /** Appends a record; it must be newer than every record held. A put after a tombstone starts a generation. */
  append(record: StoredRecord): void {
    const previous = this.last();
    assert(previous === undefined || isBefore(previous, record.main, record.sub), () => `revision ${record.main}.${record.sub} appended after ${previous!.main}.${previous!.sub}`);
    if (record.tombstone) assert(previous !== undefined && !previous.tombstone, 'tombstone for a key that is not live');
    // concat allocates the exact size; a spread ([...a, b]) leaves room for 16 more (186 bytes for one record).
    if (this.history.length < EXACT_SIZE_RECORDS_MAX) this.history = this.history.concat(record);
    else this.history.push(record);
  }

  /** The position of the first record not before revision (main, sub). */
  private firstNotBefore(main: number, sub: number): number {
    let low = 0;
    let high = this.history.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (isBefore(this.history[middle], main, sub)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The last record with main revision ≤ `main` (a tombstone included), or undefined. */
  recordAt(main: number): StoredRecord | undefined {
    return this.history[this.firstNotBefore(main + 1, 0) - 1];
  }

  /** The record just before revision (main, sub) in this key's history (across generations), or undefined. */
  recordBefore(main: number, sub: number): StoredRecord | undefined {
    return this.history[this.firstNotBefore(main, sub) - 1];
  }

  /** The key's live record as of revision `main`, or undefined if it did not exist then. */
  at(main: number): StoredRecord | undefined {
    const record = this.recordAt(main);
    return record === undefined || record.tombstone ? undefined : record;
  }

  /**
   * Drops history below `main`: keeps every record above it, plus the latest record at or below it
   * if that is a put (the value the key had at `main`). A tombstone at or below `main` vanishes with
   * its whole generation. Returns the records dropped.
   */
  compact(main: number): StoredRecord[] {
    const dropped: StoredRecord[] = [];
    const kept: StoredRecord[] = [];
    for (const generation of this.generations()) {
      const end = generation[generation.length - 1];
      if (end.tombstone && end.main <= main) {
        dropped.push(...generation);
        continue;
      }
      // The first record to keep: the last one with main ≤ `main` (a put, or the generation's
      // first record when the whole generation is above `main`).
      let first = 0;
      while (first + 1 < generation.length && generation[first + 1].main <= main) first++;
      dropped.push(...generation.slice(0, first));
      kept.push(...generation.slice(first));
    }
    if (dropped.length > 0) this.history = kept.slice();
    return dropped;
  }

  /** Every record held, oldest first. */
  records(): readonly StoredRecord[] {
    return this.history;
  }

  /** The generations, oldest first (copies). */
  generationList(): StoredRecord[][] {
    return [...this.generations()];
  }

  private *generations(): Generator<StoredRecord[]> {
    let start = 0;
    for (let i = 0; i < this.history.length; i++) {
      if (this.history[i].tombstone || i === this.history.length - 1) {
        yield this.history.slice(start, i + 1);
        start = i + 1;
      }
    }
  }

  /** Removes records with main revision ≥ `main` (an abandoned write transaction). Returns them. */
  truncateFrom(main: number): StoredRecord[] {
    const first = this.firstNotBefore(main, 0);
    const removed = this.history.slice(first);
    if (removed.length > 0) this.history = this.history.slice(0, first);
    return removed;
  }
}
