// etcd's Range over the records the store found at the revision read: its options, and the
// filters, sorting and limit applied to those records as etcd's server applies them. The store
// finds the records (its index, the revision checks); this decides which of them are returned, in
// what order, and reads values only for those.

import type { KeyValue } from './codec.js';
import { MvccInvalidArgumentError, assert } from './errors.js';
import type { RangeSink } from './range-sink.js';
import type { StoredRecord } from './stored-record.js';

export const SortOrder = { None: 0, Ascend: 1, Descend: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
export const SortTarget = { Key: 0, Version: 1, Create: 2, Mod: 3, Value: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

/** etcd's RangeRequest options (0 / absent = not set, as in the protobuf). */
export interface RangeOptions {
  /** The revision to read at; ≤ 0 (or absent) = the current revision. */
  readonly revision?: number;
  /** At most this many kvs (0 = no limit); `more` tells whether some were left out. */
  readonly limit?: number;
  readonly countOnly?: boolean;
  readonly keysOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /**
   * Where to hand the kvs, one at a time, instead of returning them (the result's kvs is then
   * empty): values are read one by one as they are handed over (range-sink.ts).
   */
  readonly sink?: RangeSink;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  /** True when `limit` left some kvs out. */
  readonly more: boolean;
  /**
   * The number of keys in the range at the revision read, before the mod/create revision filters
   * and the limit — exactly what etcd reports.
   */
  readonly count: number;
  /** The store's current revision (what etcd puts in the response header), not the revision read. */
  readonly revision: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The result of a range whose records (one per key in the range that exists at the revision read)
 * `forEachRecord` hands over in key order. The filters drop records by mod/create revision, a sort
 * order NONE with a target other than KEY sorts ascending by that target, and the limit applies
 * last. `current` is the store's revision, for the result.
 */
export function selectRange(
  options: RangeOptions,
  current: number,
  readValue: (record: StoredRecord) => Uint8Array,
  forEachRecord: (visit: (record: StoredRecord) => void) => void,
): RangeResult {
  const limit = options.limit !== undefined && options.limit > 0 ? options.limit : 0;
  const minMod = options.minModRevision ?? 0;
  const maxMod = options.maxModRevision ?? 0;
  const minCreate = options.minCreateRevision ?? 0;
  const maxCreate = options.maxCreateRevision ?? 0;
  const filtered = minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0;
  const requestedOrder = options.sortOrder ?? SortOrder.None;
  const target = options.sortTarget ?? SortTarget.Key;
  let order: SortOrder = requestedOrder;
  if (target !== SortTarget.Key && order === SortOrder.None) order = SortOrder.Ascend;
  else if (target === SortTarget.Key && order === SortOrder.Ascend) order = SortOrder.None; // already in key order
  // Without a requested sort order or filters, only limit + 1 kvs are needed (the extra one sets
  // `more`). As in etcd, this looks at the order asked for, not the effective one: NONE with a
  // target other than KEY sorts only the first limit + 1 keys (in key order) by that target.
  const collectMax = options.countOnly ? 0 : requestedOrder === SortOrder.None && !filtered && limit > 0 ? limit + 1 : Infinity;

  let records: StoredRecord[] = [];
  let count = 0;
  forEachRecord((record) => {
    count++;
    if (records.length < collectMax) records.push(record);
  });

  if (filtered) {
    records = records.filter(
      (record) =>
        (maxMod === 0 || record.main <= maxMod) &&
        (minMod === 0 || record.main >= minMod) &&
        (maxCreate === 0 || record.createRevision <= maxCreate) &&
        (minCreate === 0 || record.createRevision >= minCreate),
    );
  }
  // Values are read only for what is returned, and for a sort by value, once per sorted record.
  const keysOnly = options.keysOnly === true;
  let sortValues: Map<StoredRecord, Uint8Array> | undefined;
  if (order !== SortOrder.None) {
    if (target === SortTarget.Value) sortValues = new Map(records.map((record) => [record, readValue(record)]));
    const compare = comparator(target, sortValues);
    records.sort(order === SortOrder.Ascend ? compare : (a, b) => compare(b, a));
  }
  let more = false;
  if (limit > 0 && records.length > limit) {
    records = records.slice(0, limit);
    more = true;
  }
  const valueOf = (record: StoredRecord): Uint8Array => (keysOnly ? EMPTY : (sortValues?.get(record) ?? readValue(record)));
  const sink = options.sink;
  if (sink === undefined) return { kvs: records.map((record) => record.keyValue(valueOf(record))), more, count, revision: current };
  let bytes = 0;
  for (const record of records) bytes += record.name.length + (keysOnly ? 0 : record.valueBytes);
  sink.reserve(records.length, bytes);
  for (const record of records) sink.add(record.name, record.createRevision, record.main, record.version, record.lease, valueOf(record));
  return { kvs: [], more, count, revision: current };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Orders records by `target`; a sort by value looks values up in `values` (read beforehand). */
function comparator(target: SortTarget, values: Map<StoredRecord, Uint8Array> | undefined): (a: StoredRecord, b: StoredRecord) => number {
  switch (target) {
    case SortTarget.Key:
      return (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    case SortTarget.Version:
      return (a, b) => a.version - b.version;
    case SortTarget.Create:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.Mod:
      return (a, b) => a.main - b.main;
    case SortTarget.Value:
      assert(values !== undefined, 'a sort by value without the values');
      return (a, b) => compareBytes(values.get(a)!, values.get(b)!);
    default:
      throw new MvccInvalidArgumentError(`unknown sort target ${String(target)}`);
  }
}
