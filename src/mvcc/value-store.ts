// The one path by which the store gets a record's value: from memory while the batch that writes
// it is still pending, then from the hot-value cache, then from LevelDB with a synchronous
// getSync (so range, the apply path and the watch hub stay synchronous).
//
// A value is held in memory only until the persist batch holding it has been written; after that
// it is read back from the database when asked for. Values read from the database go to the
// cache (bounded by bytes), copied into slabs of their own: a Buffer from getSync carries about a
// kilobyte of allocator and object overhead (measured: 100,000 of 256 bytes held 118 MiB of RSS),
// a slab copy about a hundred bytes. Written values do not go to the cache: a write-heavy load would
// fill it with values nobody reads, and a value read back within a persist interval (~100 ms) is
// still in the pending batch. Values of records compaction dropped leave both at once.

import type { ClassicLevel } from 'classic-level';
import { keepBytes } from '../bytes/arena.js';
import { decodeValue, encodeValue, valueKey } from './layout.js';
import type { StoredRecord } from './stored-record.js';
import { ValueCache } from './value-cache.js';

const EMPTY = new Uint8Array(0);

/** 64 MiB: see MvccStoreOptions.valueCacheBytes. */
export const DEFAULT_VALUE_CACHE_BYTES = 64 * 1024 * 1024;

/** A consistent view of the database (classic-level's explicit snapshot). */
export type DbSnapshot = ReturnType<ClassicLevel<Buffer, Buffer>['snapshot']>;

export class ValueStore {
  /** Values not yet written to the database, by record: each is what encodeValue made. */
  private readonly pending = new Map<StoredRecord, Buffer>();
  private readonly cache: ValueCache;
  /** Reads that went to the database (for tests and measurements). */
  diskReads = 0;

  constructor(private readonly db: ClassicLevel<Buffer, Buffer>, cacheBytes: number) {
    this.cache = new ValueCache(cacheBytes);
  }

  /**
   * The record's value (empty for a tombstone or an empty value). Throws MvccCorruptError if the
   * database lost it. A scan of everything (HashKV) passes `cache: false`, so it
   * does not push the hot values out; one spread over many turns of the event loop passes a
   * database `snapshot` taken when it started, so a compaction meanwhile cannot take a value away.
   */
  read(record: StoredRecord, options: { cache?: boolean; snapshot?: DbSnapshot } = {}): Uint8Array {
    if (record.valueBytes === 0) return EMPTY;
    const pending = this.pending.get(record);
    if (pending !== undefined) return pending.subarray(4);
    const cached = this.cache.get(record);
    if (cached !== undefined) return cached;
    this.diskReads++;
    const key = valueKey(record);
    const value = decodeValue(record, options.snapshot === undefined ? this.db.getSync(key) : this.db.getSync(key, { snapshot: options.snapshot }));
    if (options.cache === false || !this.cache.admits(value.byteLength)) return value;
    const kept = keepBytes(value);
    this.cache.set(record, kept);
    return kept;
  }

  /**
   * Holds a new record's value until it is written; returns the database operation that writes it
   * (undefined for an empty value, which is never stored).
   */
  hold(record: StoredRecord, value: Uint8Array): { key: Buffer; value: Buffer } | undefined {
    if (record.valueBytes === 0) return undefined;
    const encoded = encodeValue(value);
    this.pending.set(record, encoded);
    return { key: valueKey(record), value: encoded };
  }

  /** The records whose values are held now: what a batch starting now writes. */
  heldRecords(): StoredRecord[] {
    return [...this.pending.keys()];
  }

  /** The batch holding these records' values was written: they are read from the database from now on. */
  written(records: readonly StoredRecord[]): void {
    for (const record of records) this.pending.delete(record);
  }

  /** The record is gone (compaction, an abandoned transaction): forget its value. */
  forget(record: StoredRecord): void {
    this.pending.delete(record);
    this.cache.delete(record);
  }

  /** Forgets every value (the state is being replaced). */
  clear(): void {
    this.pending.clear();
    this.cache.clear();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get cachedCount(): number {
    return this.cache.size;
  }
}
