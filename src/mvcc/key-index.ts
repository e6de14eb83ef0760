// The history of one key, as generations (etcd's model). A generation is one life of the key: from
// the put that created it to the tombstone that deleted it. Every generation but the last is closed
// by a tombstone; the last one is open (the key is live) or closed (the key is deleted).
//
// Records are in revision order inside a generation and across generations, so "the key as of
// revision R" is the last record with main ≤ R — absent if that is a tombstone.

import { assert } from './errors.js';
import { isBefore, type StoredRecord } from './stored-record.js';

type RevisionRecord = StoredRecord;

export class KeyIndex {
  readonly key: Uint8Array;
  /** Oldest first; never holds an empty generation. */
  private generations: RevisionRecord[][] = [];

  constructor(key: Uint8Array) {
    this.key = key;
  }

  /** True when no history is left (every record was compacted away). */
  get isEmpty(): boolean {
    return this.generations.length === 0;
  }

  /** The record with the highest revision, if any. */
  last(): RevisionRecord | undefined {
    const generation = this.generations[this.generations.length - 1];
    return generation?.[generation.length - 1];
  }

  /** The live record now (ignoring nothing: includes records of an open write transaction). */
  latest(): RevisionRecord | undefined {
    const record = this.last();
    return record === undefined || record.tombstone ? undefined : record;
  }

  /** Appends a record; it must be newer than every record held. A put after a tombstone starts a generation. */
  append(record: RevisionRecord): void {
    const previous = this.last();
    assert(previous === undefined || isBefore(previous, record.main, record.sub), () => `revision ${record.main}.${record.sub} appended after ${previous!.main}.${previous!.sub}`);
    if (record.tombstone) {
      assert(previous !== undefined && !previous.tombstone, 'tombstone for a key that is not live');
      this.generations[this.generations.length - 1].push(record);
    } else if (previous === undefined || previous.tombstone) {
      this.generations.push([record]);
    } else {
      this.generations[this.generations.length - 1].push(record);
    }
  }

  /** The last record with main revision ≤ `main` (a tombstone included), or undefined. */
  recordAt(main: number): RevisionRecord | undefined {
    for (let g = this.generations.length - 1; g >= 0; g--) {
      const generation = this.generations[g];
      if (generation[0].main > main) continue;
      // Binary search: the first record with main > `main`; the one before it is the answer.
      let low = 0;
      let high = generation.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (generation[middle].main <= main) low = middle + 1;
        else high = middle;
      }
      return generation[low - 1];
    }
    return undefined;
  }

  /** The record just before `revision` in this key's history (across generations), or undefined. */
  recordBefore(main: number, sub: number): RevisionRecord | undefined {
    for (let g = this.generations.length - 1; g >= 0; g--) {
      const generation = this.generations[g];
      if (!isBefore(generation[0], main, sub)) continue;
      // Binary search: the first record not before `revision`; the one before it is the answer.
      let low = 0;
      let high = generation.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (isBefore(generation[middle], main, sub)) low = middle + 1;
        else high = middle;
      }
      return generation[low - 1];
    }
    return undefined;
  }

  /** The key's live record as of revision `main`, or undefined if it did not exist then. */
  at(main: number): RevisionRecord | undefined {
    const record = this.recordAt(main);
    return record === undefined || record.tombstone ? undefined : record;
  }

  /**
   * Drops history below `main`: keeps every record above it, plus the latest record at or below it
   * if that is a put (the value the key had at `main`). A tombstone at or below `main` vanishes with
   * its whole generation. Returns the records dropped.
   */
  compact(main: number): RevisionRecord[] {
    const dropped: RevisionRecord[] = [];
    const kept: RevisionRecord[][] = [];
    for (const generation of this.generations) {
      const closedAtOrBelow = generation[generation.length - 1].tombstone && generation[generation.length - 1].main <= main;
      if (closedAtOrBelow) {
        dropped.push(...generation);
        continue;
      }
      // The first record to keep: the last one with main ≤ `main` (a put, or the generation's
      // first record when the whole generation is above `main`).
      let first = 0;
      while (first + 1 < generation.length && generation[first + 1].main <= main) first++;
      dropped.push(...generation.slice(0, first));
      kept.push(first === 0 ? generation : generation.slice(first));
    }
    this.generations = kept;
    return dropped;
  }

  /** Every record held, oldest first. */
  *records(): Generator<RevisionRecord> {
    for (const generation of this.generations) yield* generation;
  }

  /** The generations, oldest first (copies; for inspection and tests). */
  generationList(): RevisionRecord[][] {
    return this.generations.map((generation) => [...generation]);
  }

  /** Removes records with main revision ≥ `main` (an abandoned write transaction). Returns them. */
  truncateFrom(main: number): RevisionRecord[] {
    const removed: RevisionRecord[] = [];
    while (this.generations.length > 0) {
      const generation = this.generations[this.generations.length - 1];
      const record = generation[generation.length - 1];
      if (record.main < main) break;
      removed.push(record);
      generation.pop();
      if (generation.length === 0) this.generations.pop();
    }
    return removed.reverse();
  }
}
