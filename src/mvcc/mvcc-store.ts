// The revisioned key-value store (etcd's MVCC model), persisted on classic-level together with the
// Raft index it reflects.
//
// - A store-wide `revision` starts at 1. Every write transaction that changes something moves it by
//   exactly one; the changes inside one transaction share that main revision and are ordered by
//   sub-revisions 0, 1, 2, …
// - Per key: create_revision, mod_revision, version (1 on create, +1 per put, gone with a delete) and
//   lease. A delete writes a tombstone; a later put recreates the key (new create_revision,
//   version 1). The history of each key is a KeyIndex (generations of revision records).
// - The index (key-space.ts) is an in-memory B+ tree (sorted-btree) from key to KeyIndex, so a
//   range scan costs O(log n + k) for k keys in the range. The index holds every retained record's header (key,
//   revisions, version, lease, value length: StoredRecord) but no values: values are in LevelDB
//   and read on demand through ValueStore (pending batch → hot-value cache → getSync). On disk
//   headers and values sit under separate prefixes (layout.ts), so open() rebuilds the index from
//   the headers alone.
// - Reads at any retained revision; compaction drops history below a revision.
// - markApplied(index) records, in memory, the Raft index the state reflects; persist() writes
//   everything since the previous persist, that index, the revision and the compacted revision in
//   one classic-level batch, unsynced (persist-queue.ts).
// - Beside the key space: the member's own records (member-metadata.ts). A write transaction's
//   changes: write-txn.ts; Range's filters and sorting: range-query.ts; HashKV: store-hash.ts;
//   reading the state from a database, at open or from a snapshot's staged copy: store-image.ts.
//
// Single writer: the member applies committed entries one at a time, and a write transaction is
// synchronous, so readers never see a half-applied transaction (they read at `revision`, which
// moves only in end()). Returned KeyValues are shared with the store: treat them as read-only.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClassicLevel } from 'classic-level';
import { keyToString, type KeyValue } from './codec.js';
import { headerKey, valueKey } from './layout.js';
import type { StoredRecord } from './stored-record.js';
import { DEFAULT_VALUE_CACHE_BYTES, ValueStore } from './value-store.js';
import { CompactedRevisionError, FutureRevisionError, MvccWriteFailedError, TxnEndedError, TxnInProgressError, assert } from './errors.js';
import { KeySpace } from './key-space.js';
import { DEFAULT_MVCC_LIMITS, type MvccLimits } from './limits.js';
import { MemberMetadata } from './member-metadata.js';
import { PersistQueue } from './persist-queue.js';
import { selectRange, type RangeOptions, type RangeResult } from './range-query.js';
import { StoreDumpSource } from './store-dump.js';
import { hashRecords, hashRecordsYielding, hashRevision, hashedRecords, requireHashable, type HashResult } from './store-hash.js';
import { recoverStoreDirectory, type InstallStepHook } from './store-directory.js';
import { loadAndActivateStaged, loadStoreImage, openDatabase, type StoreImage } from './store-image.js';
import { OpenTxn, type Event, type WriteTxn } from './write-txn.js';

export type { KeyValue, RevisionRecord } from './codec.js';
export { SortOrder, SortTarget, type RangeOptions, type RangeResult } from './range-query.js';
export type { HashResult } from './store-hash.js';
export type { Event, WriteTxn } from './write-txn.js';

/**
 * Told of every change to the store, synchronously, as it happens: the watch hub's feed. A
 * restore replaces history wholesale, so whoever follows it must catch up from the store again.
 */
export interface StoreObserver {
  /** A write transaction ended having changed something: its events, in sub-revision order. */
  changed(revision: number, events: readonly Event[]): void;
  /** History below `revision` is gone. */
  compacted(revision: number): void;
  /** The whole state was replaced by a snapshot's staged copy (installStaged). */
  restored(): void;
}

/** What changesSince() found: whole revisions only. */
export interface ChangesResult {
  readonly events: Event[];
  /** Every change up to this revision in the asked range was looked at; the caller continues at +1. */
  readonly scannedTo: number;
}

export interface MvccStoreOptions {
  readonly limits?: Partial<MvccLimits>;
  /**
   * Bytes of recently read or written values kept in memory (LRU); default 64 MiB. Values past it
   * are read from LevelDB (the OS page cache, usually) with one synchronous get each.
   */
  readonly valueCacheBytes?: number;
}

/** How whole-store scans (HashKV) read values: past the cache, so the hot values stay. */
const SCAN = { cache: false } as const;

export class MvccStore {
  /** Replaced (closed, swapped on disk, reopened) only by installStaged. */
  private db: ClassicLevel<Buffer, Buffer>;
  private readonly limits: MvccLimits;
  private keys = new KeySpace();
  private currentRevision = 1;
  private compacted = 0;
  private applied = 0;
  /** Changes waiting for the next persist(); it writes to whatever `db` is when its batch starts. */
  private readonly writes = new PersistQueue(() => ({
    db: this.db,
    values: this.values,
    meta: { appliedIndex: this.applied, revision: this.currentRevision, compactedRevision: this.compacted },
  }));
  private readonly metadata = new MemberMetadata(this.writes);
  private txn: OpenTxn | null = null;
  private readonly observers: StoreObserver[] = [];
  private values: ValueStore;
  private readonly valueCacheBytes: number;

  private constructor(db: ClassicLevel<Buffer, Buffer>, limits: MvccLimits, storeDirectory: string, directory: string, valueCacheBytes: number) {
    this.db = db;
    this.limits = limits;
    this.storeDirectory = storeDirectory;
    this.directory = directory;
    this.valueCacheBytes = valueCacheBytes;
    this.values = new ValueStore(db, valueCacheBytes);
  }

  /** The store's name (`<data-dir>/member/kv`): staged copies and the active-database pointer live beside it. */
  private readonly storeDirectory: string;
  /** The active database's directory: the store's own path, or the staged copy last installed (store-directory.ts). */
  private directory: string;

  /** Opens (or creates) the store in `directory` and rebuilds the index from disk. */
  static async open(directory: string, options: MvccStoreOptions = {}): Promise<MvccStore> {
    // An install interrupted by a crash leaves the old database or the new one; settle which first.
    const { active } = await recoverStoreDirectory(directory);
    const db = await openDatabase(active);
    const store = new MvccStore(db, { ...DEFAULT_MVCC_LIMITS, ...options.limits }, directory, active, options.valueCacheBytes ?? DEFAULT_VALUE_CACHE_BYTES);
    try {
      await store.load();
    } catch (error) {
      await db.close();
      throw error;
    }
    return store;
  }

  /**
   * Rebuilds the whole in-memory state from the database (whatever it held before is dropped,
   * pending writes too): upgrades an older layout first, then reads the meta record and the record
   * headers — never a value (store-image.ts).
   */
  async load(): Promise<void> {
    assert(this.txn === null, 'load() inside a write transaction');
    await this.flushed();
    this.writes.drop();
    this.values.clear();
    this.take(await loadStoreImage(this.db));
  }

  /** Makes `image` the in-memory state. */
  private take(image: StoreImage): void {
    this.keys = image.keys;
    this.currentRevision = image.meta.revision;
    this.compacted = image.meta.compactedRevision;
    this.applied = image.meta.appliedIndex;
    this.metadata.replace(image.memberRecords);
  }

  /** The record as a KeyValue, its value read through the one value path. */
  private keyValueOf(record: StoredRecord): KeyValue {
    return record.keyValue(this.values.read(record));
  }

  private readonly readValue = (record: StoredRecord): Uint8Array => this.values.read(record);

  /** A previous value read only if someone looks (see OpenTxn.previousKeyValueOf). */
  private previousKeyValueOf(record: StoredRecord): KeyValue {
    return record.lazyKeyValue(this.readValue);
  }

  /** Values read from LevelDB so far (not from pending batches or the cache): for tests and measurements. */
  get valueDiskReads(): number {
    return this.values.diskReads;
  }

  get revision(): number {
    return this.currentRevision;
  }

  /** The lowest revision still readable (0: never compacted). */
  get compactedRevision(): number {
    return this.compacted;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** Keys with any retained history (live, or deleted above the compacted revision). */
  get indexedKeyCount(): number {
    return this.keys.index.size;
  }

  /** Live keys at the current revision. */
  get keyCount(): number {
    return this.keys.liveKeys;
  }

  /** A member metadata record (member-metadata.ts). */
  getMeta(name: string): Buffer | undefined {
    return this.metadata.get(name);
  }

  /** The names of the metadata records starting with `prefix`. */
  metaNames(prefix: string): string[] {
    return this.metadata.names(prefix);
  }

  /** Removes a member metadata record with the next persisted batch. */
  deleteMeta(name: string): void {
    this.metadata.delete(name);
  }

  /** Adds an observer of changes (the watch hub, the lease tracker); told in the order added. */
  observe(observer: StoreObserver): void {
    this.observers.push(observer);
  }

  /** Stores a member metadata record with the next persisted batch. */
  setMeta(name: string, value: Buffer): void {
    this.metadata.set(name, value);
  }

  /** The key's current value (what a Range of one key at revision 0 returns). */
  get(key: Uint8Array): KeyValue | undefined {
    const record = this.keys.index.get(keyToString(key))?.at(this.currentRevision);
    return record === undefined ? undefined : this.keyValueOf(record);
  }

  /**
   * etcd's Range: the keys in [key, rangeEnd) as of `options.revision` (rangeEnd empty: just `key`;
   * "\0": every key ≥ key). Filters, sorting and the limit follow etcd's server: the filters drop
   * kvs by mod/create revision, a sort order NONE with a target other than KEY sorts ascending by
   * that target, and the limit applies last.
   */
  range(key: Uint8Array, rangeEnd: Uint8Array, options: RangeOptions = {}): RangeResult {
    return this.rangeAt(key, rangeEnd, options, this.currentRevision);
  }

  private rangeAt(key: Uint8Array, rangeEnd: Uint8Array, options: RangeOptions, current: number): RangeResult {
    const asked = options.revision ?? 0;
    if (asked > current) throw new FutureRevisionError(asked, current);
    const at = asked <= 0 ? current : asked;
    if (at < this.compacted) throw new CompactedRevisionError(at, this.compacted);
    return selectRange(options, current, this.readValue, (visit) =>
      this.keys.scan(key, rangeEnd, (keyIndex) => {
        const record = keyIndex.at(at);
        if (record !== undefined) visit(record);
      }),
    );
  }

  /** Opens the write transaction. One at a time: apply is the only writer. */
  write(): WriteTxn {
    if (this.txn !== null) throw new TxnInProgressError();
    if (this.writes.failed) throw new MvccWriteFailedError();
    const txn = new OpenTxn(this.currentRevision + 1, this.keys, this.values, this.limits);
    this.txn = txn;
    const live = (): OpenTxn => {
      if (txn.ended) throw new TxnEndedError();
      return txn;
    };
    return {
      revision: txn.main,
      put: (key, value, lease) => live().put(key, value, lease),
      deleteRange: (key, rangeEnd) => live().deleteRange(key, rangeEnd),
      range: (key, rangeEnd, options = {}) => {
        const open = live();
        return this.rangeAt(key, rangeEnd, options, open.sub > 0 ? open.main : this.currentRevision);
      },
      get changes() {
        return txn.changes;
      },
      end: () => this.txnEnd(live()),
      abort: () => this.txnAbort(live()),
    };
  }

  private txnEnd(txn: OpenTxn): number {
    txn.ended = true;
    this.txn = null;
    if (txn.sub > 0) {
      this.currentRevision = txn.main;
      for (const operation of txn.operations) this.writes.add(operation);
      for (const record of txn.records) this.keys.history.push(record);
      for (const observer of this.observers) observer.changed(txn.main, txn.changes);
    }
    return this.currentRevision;
  }

  private txnAbort(txn: OpenTxn): void {
    txn.ended = true;
    this.txn = null;
    txn.undo();
  }

  /**
   * Drops history below `revision`: every record above it stays, and of the records at or below it
   * only each live key's latest one (its value at `revision`); tombstones at or below it vanish with
   * their keys' older records. Reads at `revision` and above still work, reads below it fail with
   * CompactedRevisionError. Durable with the next persist(). Costs one pass over the index.
   */
  compact(revision: number): void {
    assert(this.txn === null, 'compact() inside a write transaction');
    if (revision <= this.compacted) throw new CompactedRevisionError(revision, this.compacted);
    if (revision > this.currentRevision) throw new FutureRevisionError(revision, this.currentRevision);
    this.keys.compact(revision, (record) => {
      this.writes.add({ type: 'del', key: headerKey(record) });
      if (record.valueBytes > 0) this.writes.add({ type: 'del', key: valueKey(record) });
      this.values.forget(record);
    });
    this.compacted = revision;
    for (const observer of this.observers) observer.compacted(revision);
  }

  /**
   * The changes from revision `from` on, to keys for which `matches` holds, as events with the
   * key's previous value. Stops after whole revisions once `eventsMax` events were found or
   * `scanMax` records looked at. `from` below the compacted revision throws CompactedRevisionError.
   */
  changesSince(from: number, matches: (key: string) => boolean, eventsMax: number, scanMax: number): ChangesResult {
    if (from < this.compacted) throw new CompactedRevisionError(from, this.compacted);
    const events: Event[] = [];
    let scanned = 0;
    const history = this.keys.history;
    let position = this.keys.firstHistoryAt(from);
    while (position < history.length) {
      const main = history[position].main;
      if (events.length >= eventsMax || scanned >= scanMax) return { events, scannedTo: main - 1 };
      for (; position < history.length && history[position].main === main; position++, scanned++) {
        const record = history[position];
        const name = record.name;
        if (matches(name)) events.push(this.eventOf(record, name));
      }
    }
    return { events, scannedTo: this.currentRevision };
  }

  private eventOf(record: StoredRecord, name: string): Event {
    const previous = this.keys.index.get(name)?.recordBefore(record.main, record.sub);
    const prevKv = previous === undefined || previous.tombstone ? undefined : this.previousKeyValueOf(previous);
    return { type: record.tombstone ? 'delete' : 'put', kv: this.keyValueOf(record), prevKv };
  }

  /**
   * etcd's HashKV idea: a CRC-32 (IEEE) over the retained history up to `revision` (≤ 0: current).
   * Hashed, for every key in key order and every retained record of it with main revision ≤
   * `revision` in revision order: the record's 16-byte revision (main u64 BE, sub u64 BE), then its
   * encoded body without the checksum (flags, create/mod revision, version, lease, key length, key,
   * value — see codec.ts). Two members with the same history and compacted revision agree; the
   * compacted revision is returned beside the hash so callers compare like with like.
   */
  hash(revision = 0): HashResult {
    const at = hashRevision(revision, this.currentRevision, this.compacted);
    const records = hashedRecords(this.keys.index, at);
    const crc = hashRecords(this.values, records, 0, records.length, 0, SCAN);
    return { hash: crc, compactRevision: this.compacted, hashRevision: at, revision: this.currentRevision };
  }

  /**
   * hash(), without holding the event loop for the whole store: a 2 GiB store's values take
   * seconds to read, and a leader that stopped answering heartbeats that long would lose its
   * leadership. The store is persisted first, then the records and a database snapshot are taken
   * in one step, and the values are read from that snapshot a slice at a time, yielding
   * between slices (store-hash.ts); whatever is applied meanwhile (a compaction included) does not change the answer.
   */
  async hashYielding(revision = 0): Promise<HashResult> {
    const at = hashRevision(revision, this.currentRevision, this.compacted);
    await this.persist();
    requireHashable(at, revision, this.compacted); // a compaction may have passed `at` while persisting
    const records = hashedRecords(this.keys.index, at);
    const result = { compactRevision: this.compacted, hashRevision: at, revision: this.currentRevision };
    const snapshot = this.db.snapshot();
    try {
      return { hash: await hashRecordsYielding(this.values, records, snapshot), ...result };
    } finally {
      await snapshot.close();
    }
  }

  /**
   * The bytes the store's files occupy on disk (etcd's dbSize), log and tables alike: LevelDB's own
   * size estimate leaves out data still in its log.
   */
  async approximateBytes(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.directory)) {
      try {
        total += (await stat(join(this.directory, name))).size;
      } catch {
        // a file LevelDB removed while we listed it
      }
    }
    return total;
  }

  /**
   * Makes everything written since the previous persist durable in one unsynced batch, with the
   * applied Raft index, the revision and the compacted revision. If the process dies first, the
   * member replays its log from the previous applied index. Persists never overlap. With `sync`,
   * the batch is fsync'd, and with it every earlier one.
   */
  persist(appliedIndex?: number, options: { sync?: boolean } = {}): Promise<void> {
    if (this.writes.failed) return Promise.reject(new MvccWriteFailedError());
    if (appliedIndex !== undefined) this.markApplied(appliedIndex);
    return this.writes.persist(options.sync === true);
  }

  /** Records and metadata changes waiting for the next persist(). */
  get pendingWrites(): number {
    return this.writes.length;
  }

  /** The Raft index the in-memory state reflects; written by the next persist(). */
  markApplied(index: number): void {
    this.applied = Math.max(this.applied, index);
  }

  /** Resolves once every persist() asked for so far has finished. */
  async flushed(): Promise<void> {
    await this.writes.flushed();
  }

  /**
   * A dump of the database as it is once everything applied so far is written (its meta record
   * carries the applied index), read lazily through one iterator: a consistent view, whatever is
   * written meanwhile. For a follower's snapshot (store-dump.ts); close() it when done.
   */
  async openDump(chunkBytes: number): Promise<StoreDumpSource> {
    await this.persist();
    // Created synchronously after the persist: the iterator's implicit snapshot includes it.
    return new StoreDumpSource(this.db.iterator({ highWaterMarkBytes: chunkBytes }), chunkBytes);
  }

  /**
   * Replaces the whole state with a staged database (store-dump.ts, finished): loads it aside where
   * it was staged while this store keeps serving reads, makes it the active database durably
   * (store-directory.ts: a crash leaves the old database or the new one, whole), adopts it in one
   * synchronous step, then closes and removes the old one. Observers are told restored(). So a read
   * at any moment sees the old state or the new one, whole, and can always reach its values. If
   * any step fails the store refuses further writes: restart the member (startup settles the
   * directory).
   */
  async installStaged(stagedDirectory: string, afterStep: InstallStepHook = async () => {}): Promise<void> {
    assert(this.txn === null, 'installStaged() inside a write transaction');
    await this.flushed();
    const old = { db: this.db, directory: this.directory };
    try {
      const { db, image } = await loadAndActivateStaged(this.storeDirectory, stagedDirectory, afterStep);
      // Adopted in one synchronous step; pending writes are dropped.
      this.db = db;
      this.directory = stagedDirectory;
      this.values = new ValueStore(db, this.valueCacheBytes);
      this.writes.drop();
      this.take(image);
    } catch (error) {
      this.writes.fail();
      throw new MvccWriteFailedError({ cause: error });
    }
    for (const observer of this.observers) observer.restored();
    // Nothing reads the old database any more; a crash before it is gone leaves it to startup.
    await old.db.close();
    await rm(old.directory, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.flushed();
    await this.db.close();
  }
}
