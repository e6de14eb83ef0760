// One entry of a key's history as the in-memory index holds it: everything but the value.
//
// The value lives in LevelDB (see layout.ts) and is read on demand through ValueStore; here only
// its length is kept, so memory tracks the index, not the data. One flat object per record (no
// nested revision or KeyValue objects): at 100,000 records the old three-objects-plus-value form
// cost about 250 bytes of object headers per record before the value itself.

import { stringToKey, type KeyValue, type RevisionRecord } from './codec.js';
import type { Revision } from './revision.js';

export class StoredRecord {
  constructor(
    /**
     * The key as a latin1 string (one char per byte), the very string the index is keyed by: one
     * copy per key, shared by its records, and no Buffer object per key (about 100 bytes each).
     */
    readonly name: string,
    /** The revision: main (= the record's mod_revision) and sub. */
    readonly main: number,
    readonly sub: number,
    /** For a tombstone 0, as for version and lease. */
    readonly createRevision: number,
    readonly version: number,
    readonly lease: bigint,
    /** The value's length in bytes; 0 for a tombstone (and an empty value, which is never stored). */
    readonly valueBytes: number,
    readonly tombstone: boolean,
  ) {}

  get revision(): Revision {
    return { main: this.main, sub: this.sub };
  }

  /** The record as a KeyValue with `value` (read by the caller through ValueStore). */
  keyValue(value: Uint8Array): KeyValue {
    return { key: stringToKey(this.name), createRevision: this.createRevision, modRevision: this.main, version: this.version, value, lease: this.lease };
  }

  /**
   * The record as a KeyValue whose `value` is read (once) when first asked for: a prevKv, which
   * most writes never look at (no prev_kv asked, no watcher wanting it). `value` is an own
   * enumerable property, so a spread ({ ...kv }) reads it and copies a plain KeyValue.
   */
  lazyKeyValue(read: (record: StoredRecord) => Uint8Array): KeyValue {
    const kv = { key: stringToKey(this.name), createRevision: this.createRevision, modRevision: this.main, version: this.version, lease: this.lease } as { value?: Uint8Array } & Omit<KeyValue, 'value'>;
    let value: Uint8Array | undefined;
    Object.defineProperty(kv, 'value', { enumerable: true, get: () => (value ??= read(this)) });
    return kv as KeyValue;
  }

  /** The record with its value, in the form HashKV encodes. */
  withValue(value: Uint8Array): RevisionRecord {
    return { revision: this.revision, kv: this.keyValue(value), tombstone: this.tombstone };
  }
}

/** Is `record` before revision (main, sub)? */
export function isBefore(record: StoredRecord, main: number, sub: number): boolean {
  return record.main !== main ? record.main < main : record.sub < sub;
}
