// A write transaction's changes, made to the key space as they happen so that the transaction's
// own reads see them, and collected (records, database operations, events) for the store to make
// them its next revision on end() — or taken back on abort().

import { keyToString, type KeyValue } from './codec.js';
import { MvccInvalidArgumentError, MvccLimitExceededError, assert } from './errors.js';
import { KeyIndex } from './key-index.js';
import type { KeySpace } from './key-space.js';
import { encodeHeader, headerKey } from './layout.js';
import type { MvccLimits } from './limits.js';
import type { BatchOperation } from './persist-queue.js';
import type { RangeOptions, RangeResult } from './range-query.js';
import { StoredRecord } from './stored-record.js';
import type { ValueStore } from './value-store.js';

export interface Event {
  readonly type: 'put' | 'delete';
  /** For a delete: the key with mod_revision = the deleting revision, everything else empty. */
  readonly kv: KeyValue;
  /** The key's value just before this change, if it existed. */
  readonly prevKv: KeyValue | undefined;
}

/**
 * A write transaction: the member opens one per applied request (a Txn is one, too). If an
 * operation throws (a limit, an empty key), the changes made so far stay in the transaction: call
 * abort() to undo them, or end() to keep them.
 */
export interface WriteTxn {
  /** The main revision this transaction's changes get (current revision + 1). */
  readonly revision: number;
  /** Writes `key`; returns its previous value (as this transaction sees it), if it existed. */
  put(key: Uint8Array, value: Uint8Array, lease: bigint): KeyValue | undefined;
  /** Deletes the live keys in the range (range_end as in range()); returns their previous values, in key order. */
  deleteRange(key: Uint8Array, rangeEnd: Uint8Array): KeyValue[];
  /** Reads like MvccStore.range, but sees this transaction's own writes. */
  range(key: Uint8Array, rangeEnd: Uint8Array, options?: RangeOptions): RangeResult;
  /** The changes so far, in sub-revision order (the events a watcher will get). */
  readonly changes: readonly Event[];
  /** Ends the transaction; the revision moves by one if it changed anything. Returns the store's revision. */
  end(): number;
  /** Undoes every change of this transaction and ends it. */
  abort(): void;
}

const EMPTY = new Uint8Array(0);

/** The open transaction behind a WriteTxn (the store checks it is still open before each call). */
export class OpenTxn {
  /** The next change's sub-revision: how many changes were made. */
  sub = 0;
  readonly operations: BatchOperation[] = [];
  readonly changes: Event[] = [];
  readonly records: StoredRecord[] = [];
  ended = false;
  /** Keys touched, with whether each was live before the transaction. */
  private readonly touched = new Map<string, boolean>();
  private readonly readValue = (record: StoredRecord): Uint8Array => this.values.read(record);

  constructor(
    readonly main: number,
    private readonly keys: KeySpace,
    private readonly values: ValueStore,
    private readonly limits: MvccLimits,
  ) {}

  /**
   * A previous value (prevKv) whose value is read only if someone looks: most puts and deletes
   * never do, and an overwrite would otherwise read the old value from the database every time.
   * Who needs it reads it before the record can be compacted away: the watch hub while the change
   * is applied, the member's apply (prev_kv asked) in the same step.
   */
  private previousKeyValueOf(record: StoredRecord): KeyValue {
    return record.lazyKeyValue(this.readValue);
  }

  private touch(name: string, keyIndex: KeyIndex | undefined): void {
    if (!this.touched.has(name)) this.touched.set(name, keyIndex?.latest() !== undefined);
  }

  put(key: Uint8Array, value: Uint8Array, lease: bigint): KeyValue | undefined {
    if (key.byteLength === 0) throw new MvccInvalidArgumentError('key is not provided');
    if (key.byteLength > this.limits.keyBytesMax) throw new MvccLimitExceededError('key size', key.byteLength, this.limits.keyBytesMax);
    if (value.byteLength > this.limits.valueBytesMax) throw new MvccLimitExceededError('value size', value.byteLength, this.limits.valueBytesMax);
    const name = keyToString(key);
    let keyIndex = this.keys.index.get(name);
    this.touch(name, keyIndex);
    if (keyIndex === undefined) {
      keyIndex = new KeyIndex(name);
      this.keys.index.set(name, keyIndex);
    }
    const previousRecord = keyIndex.latest();
    const previous = previousRecord === undefined ? undefined : this.previousKeyValueOf(previousRecord);
    const record = new StoredRecord(keyIndex.name, this.main, this.sub++, previousRecord?.createRevision ?? this.main, (previousRecord?.version ?? 0) + 1, lease, value.byteLength, false);
    keyIndex.append(record);
    this.records.push(record);
    if (previous === undefined) this.keys.liveKeys++;
    this.operations.push({ type: 'put', key: headerKey(record), value: encodeHeader(record) });
    const valueWrite = this.values.hold(record, value);
    if (valueWrite !== undefined) this.operations.push({ type: 'put', ...valueWrite });
    this.changes.push({ type: 'put', kv: record.keyValue(value.byteLength === 0 ? EMPTY : this.values.read(record)), prevKv: previous });
    return previous;
  }

  deleteRange(key: Uint8Array, rangeEnd: Uint8Array): KeyValue[] {
    const doomed: Array<{ keyIndex: KeyIndex; kv: KeyValue }> = [];
    this.keys.scan(key, rangeEnd, (keyIndex) => {
      const live = keyIndex.latest();
      if (live !== undefined) doomed.push({ keyIndex, kv: this.previousKeyValueOf(live) });
    });
    for (const { keyIndex, kv } of doomed) {
      this.touch(keyIndex.name, keyIndex);
      const record = new StoredRecord(keyIndex.name, this.main, this.sub++, 0, 0, 0n, 0, true);
      keyIndex.append(record);
      this.records.push(record);
      this.keys.liveKeys--;
      this.operations.push({ type: 'put', key: headerKey(record), value: encodeHeader(record) });
      this.changes.push({ type: 'delete', kv: record.keyValue(EMPTY), prevKv: kv });
    }
    return doomed.map(({ kv }) => kv);
  }

  /** Takes every change back out of the key space (abort). */
  undo(): void {
    for (const [name, wasLive] of this.touched) {
      const keyIndex = this.keys.index.get(name);
      assert(keyIndex !== undefined, 'a key touched by the transaction vanished');
      const isLive = keyIndex.latest() !== undefined;
      for (const record of keyIndex.truncateFrom(this.main)) this.values.forget(record);
      if (keyIndex.isEmpty) this.keys.index.delete(name);
      this.keys.liveKeys += (wasLive ? 1 : 0) - (isLive ? 1 : 0);
    }
  }
}
