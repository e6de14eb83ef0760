// The key-value state machine: the latest value of every key with etcd's revision bookkeeping
// (a store-wide revision bumped once per write transaction; per key create/mod revision and
// version), persisted on classic-level together with the Raft index it reflects. Writes are not
// fsync'd: after a crash the member replays its write-ahead log from `appliedIndex`.
//
// History, tombstones, compaction and watches arrive with the full MVCC store; this keeps only the
// latest version of each key.

import { ClassicLevel } from 'classic-level';

export interface KeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: number;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly count: number;
}

const META_KEY = Buffer.from('m');
const KEY_PREFIX = 0x6b; // 'k'
/** Records the member keeps beside the data (its membership registry), applied with it. */
const EXTRA_META_PREFIX = 'x:';

/** Bytes as a latin1 string: one char per byte, so string order is byte order. */
function toKeyString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function encodeKeyValue(kv: KeyValue): Buffer {
  const header = Buffer.alloc(4 * 8 + 4);
  header.writeDoubleBE(kv.createRevision, 0);
  header.writeDoubleBE(kv.modRevision, 8);
  header.writeDoubleBE(kv.version, 16);
  header.writeDoubleBE(kv.lease, 24);
  header.writeUInt32BE(kv.key.byteLength, 32);
  return Buffer.concat([header, kv.key, kv.value]);
}

function decodeKeyValue(bytes: Buffer): KeyValue {
  const keyLength = bytes.readUInt32BE(32);
  return {
    createRevision: bytes.readDoubleBE(0),
    modRevision: bytes.readDoubleBE(8),
    version: bytes.readDoubleBE(16),
    lease: bytes.readDoubleBE(24),
    key: bytes.subarray(36, 36 + keyLength),
    value: bytes.subarray(36 + keyLength),
  };
}

export class KvStore {
  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly byKey = new Map<string, KeyValue>();
  /** Every live key, sorted; kept in step with byKey. */
  private sortedKeys: string[] = [];
  revision = 1;
  appliedIndex = 0;
  private pending: Array<{ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }> = [];
  private readonly extraMeta = new Map<string, Buffer>();

  private constructor(db: ClassicLevel<Buffer, Buffer>) {
    this.db = db;
  }

  static async open(directory: string): Promise<KvStore> {
    const db = new ClassicLevel<Buffer, Buffer>(directory, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const store = new KvStore(db);
    const meta = await db.get(META_KEY);
    if (meta !== undefined) {
      store.appliedIndex = meta.readDoubleBE(0);
      store.revision = meta.readDoubleBE(8);
    }
    for await (const [, value] of db.iterator({ gt: Buffer.from([KEY_PREFIX]), lt: Buffer.from([KEY_PREFIX + 1]) })) {
      const kv = decodeKeyValue(value);
      store.byKey.set(toKeyString(kv.key), kv);
    }
    store.sortedKeys = [...store.byKey.keys()].sort();
    for await (const [key, value] of db.iterator({ gte: Buffer.from(EXTRA_META_PREFIX), lt: Buffer.from('x;') })) {
      store.extraMeta.set(key.toString('utf8').slice(EXTRA_META_PREFIX.length), value);
    }
    return store;
  }

  getMeta(name: string): Buffer | undefined {
    return this.extraMeta.get(name);
  }

  /** Stores a metadata record with the next persisted batch. */
  setMeta(name: string, value: Buffer): void {
    this.extraMeta.set(name, value);
    this.pending.push({ type: 'put', key: Buffer.from(EXTRA_META_PREFIX + name, 'utf8'), value });
  }

  get keyCount(): number {
    return this.byKey.size;
  }

  get(key: Uint8Array): KeyValue | undefined {
    return this.byKey.get(toKeyString(key));
  }

  /** Keys in [key, rangeEnd) (rangeEnd empty: just key; "\0": every key >= key), in key order. */
  range(key: Uint8Array, rangeEnd: Uint8Array, limit: number): RangeResult {
    if (rangeEnd.byteLength === 0) {
      const kv = this.get(key);
      return { kvs: kv === undefined ? [] : [kv], more: false, count: kv === undefined ? 0 : 1 };
    }
    const low = toKeyString(key);
    const high = rangeEnd.byteLength === 1 && rangeEnd[0] === 0 ? null : toKeyString(rangeEnd);
    let index = lowerBound(this.sortedKeys, low);
    const kvs: KeyValue[] = [];
    let count = 0;
    for (; index < this.sortedKeys.length; index++) {
      const candidate = this.sortedKeys[index];
      if (high !== null && candidate >= high) break;
      count++;
      if (limit <= 0 || kvs.length < limit) kvs.push(this.byKey.get(candidate) as KeyValue);
    }
    return { kvs, more: limit > 0 && count > limit, count };
  }

  /** Writes a key as part of the current write transaction at revision `this.revision + 1`. */
  put(key: Uint8Array, value: Uint8Array, lease: number): KeyValue | undefined {
    const name = toKeyString(key);
    const previous = this.byKey.get(name);
    const revision = this.revision + 1;
    const kv: KeyValue = {
      key: Buffer.from(key),
      value: Buffer.from(value),
      lease,
      createRevision: previous?.createRevision ?? revision,
      modRevision: revision,
      version: (previous?.version ?? 0) + 1,
    };
    this.byKey.set(name, kv);
    if (previous === undefined) this.sortedKeys.splice(lowerBound(this.sortedKeys, name), 0, name);
    this.pending.push({ type: 'put', key: Buffer.concat([Buffer.from([KEY_PREFIX]), kv.key]), value: encodeKeyValue(kv) });
    return previous;
  }

  /** Ends a write transaction that changed something: the store's revision moves by one. */
  commitTransaction(): void {
    this.revision++;
  }

  /**
   * Makes everything applied up to Raft index `index` durable in one (unsynced) batch. If the
   * process dies first, the member replays the log from the previous applied index.
   */
  async persist(index: number): Promise<void> {
    this.appliedIndex = Math.max(this.appliedIndex, index);
    const meta = Buffer.alloc(16);
    meta.writeDoubleBE(this.appliedIndex, 0);
    meta.writeDoubleBE(this.revision, 8);
    const operations = this.pending;
    this.pending = [];
    operations.push({ type: 'put', key: META_KEY, value: meta });
    await this.db.batch(operations, { sync: false });
  }

  /**
   * The whole state as bytes, for a Raft snapshot: revision, every key, every metadata record.
   * Layout: [revision f64][key count u32] then per key [length u32][encoded KeyValue], then
   * [meta count u32] and per record [name length u32][name][value length u32][value].
   */
  image(): Buffer {
    const parts: Buffer[] = [];
    const head = Buffer.alloc(12);
    head.writeDoubleBE(this.revision, 0);
    head.writeUInt32BE(this.byKey.size, 8);
    parts.push(head);
    for (const name of this.sortedKeys) {
      const encoded = encodeKeyValue(this.byKey.get(name) as KeyValue);
      parts.push(lengthPrefix(encoded.byteLength), encoded);
    }
    parts.push(lengthPrefix(this.extraMeta.size));
    for (const [name, value] of this.extraMeta) {
      const nameBytes = Buffer.from(name, 'utf8');
      parts.push(lengthPrefix(nameBytes.byteLength), nameBytes, lengthPrefix(value.byteLength), value);
    }
    return Buffer.concat(parts);
  }

  /** Replaces the whole state with a snapshot image taken at Raft index `index`; durable on return. */
  async restore(image: Uint8Array, index: number): Promise<void> {
    const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
    let offset = 0;
    const readLength = (): number => {
      const value = bytes.readUInt32BE(offset);
      offset += 4;
      return value;
    };
    const readBytes = (length: number): Buffer => {
      const value = bytes.subarray(offset, offset + length);
      offset += length;
      return value;
    };
    const revision = bytes.readDoubleBE(0);
    offset = 8;
    const kvs: KeyValue[] = [];
    for (let count = readLength(); count > 0; count--) kvs.push(decodeKeyValue(Buffer.from(readBytes(readLength()))));
    const meta = new Map<string, Buffer>();
    for (let count = readLength(); count > 0; count--) {
      const name = readBytes(readLength()).toString('utf8');
      meta.set(name, Buffer.from(readBytes(readLength())));
    }
    const operations: Array<{ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }> = [];
    for (const name of this.sortedKeys) operations.push({ type: 'del', key: Buffer.concat([Buffer.from([KEY_PREFIX]), Buffer.from(name, 'latin1')]) });
    this.byKey.clear();
    for (const kv of kvs) {
      this.byKey.set(toKeyString(kv.key), kv);
      operations.push({ type: 'put', key: Buffer.concat([Buffer.from([KEY_PREFIX]), kv.key]), value: encodeKeyValue(kv) });
    }
    this.sortedKeys = [...this.byKey.keys()].sort();
    this.extraMeta.clear();
    for (const [name, value] of meta) {
      this.extraMeta.set(name, value);
      operations.push({ type: 'put', key: Buffer.from(EXTRA_META_PREFIX + name, 'utf8'), value });
    }
    this.revision = revision;
    this.appliedIndex = index;
    this.pending = operations;
    await this.persist(index);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function lengthPrefix(length: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(length);
  return bytes;
}

function lowerBound(sorted: readonly string[], target: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < target) low = middle + 1;
    else high = middle;
  }
  return low;
}
