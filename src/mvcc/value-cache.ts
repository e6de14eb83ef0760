// A bounded cache of values read from (or just written to) the database, least recently used
// first out, bounded by bytes.
//
// Entries are keyed by the StoredRecord itself (identity: no key strings built per lookup). A
// Map keeps insertion order, so re-inserting on a hit makes its first entry the least recently
// used one.

import type { StoredRecord } from './stored-record.js';

/**
 * What one entry costs beyond its bytes: the Map entry and the Buffer object that views a slab
 * (measured: 100,000 cached 256-byte values took about 40 MiB of RSS). Counted so that a cache of
 * many small values stays within its bound too.
 */
export const CACHE_ENTRY_OVERHEAD_BYTES = 160;

export class ValueCache {
  private readonly entries = new Map<StoredRecord, Uint8Array>();
  private bytes = 0;

  constructor(readonly bytesMax: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The bytes held, overhead included. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Whether a value of this size can be cached at all (not with a bound of 0, or past the bound). */
  admits(valueBytes: number): boolean {
    return valueBytes + CACHE_ENTRY_OVERHEAD_BYTES <= this.bytesMax;
  }

  get(record: StoredRecord): Uint8Array | undefined {
    const value = this.entries.get(record);
    if (value === undefined) return undefined;
    this.entries.delete(record);
    this.entries.set(record, value);
    return value;
  }

  set(record: StoredRecord, value: Uint8Array): void {
    const cost = value.byteLength + CACHE_ENTRY_OVERHEAD_BYTES;
    if (cost > this.bytesMax) return;
    this.delete(record);
    this.entries.set(record, value);
    this.bytes += cost;
    for (const [oldest, oldValue] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(oldest);
      this.bytes -= oldValue.byteLength + CACHE_ENTRY_OVERHEAD_BYTES;
    }
  }

  delete(record: StoredRecord): void {
    const value = this.entries.get(record);
    if (value === undefined) return;
    this.entries.delete(record);
    this.bytes -= value.byteLength + CACHE_ENTRY_OVERHEAD_BYTES;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
