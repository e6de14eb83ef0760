// A member's write-ahead log: its entries, hard state and latest snapshot in one classic-level
// database under `${dataDir}/member/wal`, with an in-memory copy (a MemoryStorage) that the RawNode
// reads. Every change is written to disk first and applied to the copy only once the write returned,
// so the core never sees as durable what is not. The one exception is a hard state that only
// advances the commit index: it is held back and written with the next batch (see save).

import { join } from 'node:path';
import { assert, emptyHardState, hardStateEqual, type ConfState, type HardState, type MemoryStorage, type Snapshot } from '../raft/index.js';
import { isEmptyDb, openDb, type WalDb } from './db.js';
import { WalCorruptError, WalIdentityMismatchError, WalLimitExceededError, WalNotFoundError, WalUnsupportedFormatError } from './errors.js';
import { sameMember, type MemberIdentity } from './identity.js';
import { HARD_STATE_KEY, IDENTITY_KEY, LOG_START_KEY, SNAPSHOT_KEY, entryKey } from './keys.js';
import { MAX_NAME_BYTES } from './limits.js';
import { silentLogger, type WalLogger } from './logger.js';
import { Failpoint, Failpoints } from '../failpoints/failpoints.js';
import { DamagedRecordError, FORMAT_VERSION, decodeIdentityRecord, encodeHardStateRecord, encodeIdentityRecord, encodeLogStartRecord, encodeSnapshotRecord } from './records.js';
import { recoverLog } from './recover.js';
import { checkSnapshotBytes, onlyCommitAdvances, planSave, put, type Operation, type SaveBatch } from './save-plan.js';
import { keptEntry } from './kept-entry.js';
import { secondsSince, walFsyncSeconds } from '../metrics/index.js';

export interface WalOptions {
  readonly logger?: WalLogger;
  /** Test-only faults (a save delay); none by default. */
  readonly failpoints?: Failpoints;
}

export class Wal {
  /** The member this log belongs to, as recorded when it was created. */
  readonly identity: MemberIdentity;
  /** True when open() found no previous raft state: a brand-new member that must bootstrap. */
  readonly isNew: boolean;
  /** The in-memory copy of the log, for the RawNode. Change it only through this Wal. */
  readonly storage: MemoryStorage;
  /** The database directory. */
  readonly dir: string;
  private readonly db: WalDb;
  private readonly logger: WalLogger;
  /** The operation writing now; another one overlapping it is a bug in the caller. */
  private busyWith: string | null = null;
  private closed = false;
  /** A write that failed leaves the disk state unknown (a failed fsync may have lost pages), so the log stops. */
  private failure: unknown = null;
  /** A hard state whose only change is its commit index, held back until the next write. */
  private unwrittenHardState: HardState | null = null;

  private constructor(db: WalDb, dir: string, identity: MemberIdentity, storage: MemoryStorage, logger: WalLogger, private readonly failpoints: Failpoints) {
    this.db = db;
    this.dir = dir;
    this.identity = identity;
    this.storage = storage;
    this.logger = logger;
    this.isNew = storage.lastIndex() === 0 && hardStateEqual(storage.getHardState(), emptyHardState);
  }

  /**
   * Opens the log under `${dataDir}/member/wal`. With an identity, an empty directory is created and
   * records it, and an existing log must belong to the same member (else WalIdentityMismatchError;
   * nothing is changed). With `null`, the log must already exist (else WalNotFoundError).
   */
  static async open(dataDir: string, identity: MemberIdentity | null, options: WalOptions = {}): Promise<Wal> {
    const dir = join(dataDir, 'member', 'wal');
    const logger = options.logger ?? silentLogger;
    if (identity !== null) checkIdentity(identity);
    const db = await openDb(dir, identity !== null);
    try {
      const stored = await establishIdentity(db, dir, identity, logger);
      const storage = await recoverLog(db, dir, logger);
      const wal = new Wal(db, dir, stored, storage, logger, options.failpoints ?? new Failpoints());
      logger.info(
        { dir, memberId: stored.memberId, clusterId: stored.clusterId, isNew: wal.isNew, firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(), ...storage.getHardState() },
        'opened the write-ahead log',
      );
      return wal;
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /**
   * Persists one Ready's durable parts in one batch (fsync'd when `sync`), then applies them to
   * `storage`. Entries replace those at the same or later indexes. Saves must not overlap.
   */
  async save(batch: SaveBatch, sync: boolean): Promise<void> {
    this.checkUsable('save');
    if (!sync && onlyCommitAdvances(this.storage.getHardState(), batch)) {
      // A commit index needs no write of its own: it is a hint that the leader repeats, and a
      // member that forgets it after a crash learns it again (etcd-io/raft's MustSync says the
      // same). It rides along with the next write that happens anyway, which saves a trip
      // through the database's thread per committed batch on every member.
      const hardState = batch.hardState!;
      assert(hardState.commit <= this.storage.lastIndex(), () => `hard state commits ${hardState.commit}, beyond the last entry ${this.storage.lastIndex()}`);
      this.storage.setHardState(hardState);
      this.unwrittenHardState = hardState;
      return;
    }
    const plan = planSave(this.storage, batch);
    if (plan.operations.length === 0) return;
    const delayMs = this.failpoints.number(Failpoint.WalSaveDelayMs);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    await this.write('save', plan.operations, sync, () => {
      if (plan.snapshot !== null) this.storage.applySnapshot(plan.snapshot);
      this.storage.append(plan.entries.map(keptEntry));
      if (plan.hardState !== null) this.storage.setHardState(plan.hardState);
    });
  }

  /** Records the application's image at `index` (at most the last index) as the latest snapshot. */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    this.checkUsable('createSnapshot');
    const current = this.storage.snapshot();
    if (index <= current.metadata.index) return current;
    checkSnapshotBytes(data);
    assert(index <= this.storage.lastIndex(), () => `snapshot ${index} is beyond the last index ${this.storage.lastIndex()}`);
    const snapshot: Snapshot = { metadata: { index, term: this.storage.term(index), confState }, data };
    // Synced so that it is on disk before any compaction that relies on it. (write() adds the
    // held-back commit: a log whose snapshot is beyond its commit point would not open.)
    await this.write('createSnapshot', [put(SNAPSHOT_KEY, encodeSnapshotRecord(snapshot))], true, () => {
      this.storage.createSnapshot(index, confState, data);
    });
    return snapshot;
  }

  /** Drops the entries up to and including `index`, which the latest snapshot must cover. */
  async compact(index: number): Promise<void> {
    this.checkUsable('compact');
    const first = this.storage.firstIndex();
    if (index < first) return;
    const snapshotIndex = this.storage.snapshot().metadata.index;
    assert(index <= snapshotIndex, () => `compact ${index} is beyond the snapshot at ${snapshotIndex}`);
    // Not synced: losing it to an OS crash only leaves entries that the snapshot already covers.
    await this.write('compact', [put(LOG_START_KEY, encodeLogStartRecord({ index, term: this.storage.term(index) }))], false, () => this.storage.compact(index));
    // The entries go by LevelDB's own range delete, on its thread: building thousands of deletes
    // here took 10-15 ms of this thread. The open reads only entries after the log start, so a
    // crash before this finishes leaves harmless garbage below it.
    await this.exclusively('compact', () =>
      this.db.clear({ gte: entryKey(first), lte: entryKey(index) }).catch((error: unknown) => {
        this.logger.warn({ dir: this.dir, err: error, from: first, to: index }, 'could not delete compacted entries; they stay on disk, unread');
      }),
    );
  }

  /** Closes the database. Waits for nothing: the caller lets its last save finish first. */
  async close(): Promise<void> {
    if (this.closed) return;
    assert(this.busyWith === null, () => `closing the write-ahead log during ${this.busyWith}`);
    // write() adds the held-back hard state, if any.
    if (this.unwrittenHardState !== null && this.failure === null) await this.write('close', [], true, () => {});
    this.closed = true;
    await this.db.close();
  }

  private checkUsable(operation: string): void {
    assert(!this.closed, () => `${operation} on a closed write-ahead log`);
    assert(this.failure === null, () => `${operation} after a failed write; the log must be reopened`);
    assert(this.busyWith === null, () => `${operation} overlaps ${this.busyWith}; the caller must serialize writes`);
  }

  /**
   * The one place that writes: one batch per call, then `apply` to the in-memory log. The operation
   * counts as in flight until `apply` ran, so no other write is planned against a stale copy. A
   * held-back hard state goes first in every batch, so one the batch carries itself overrides it.
   */
  private async write(operation: string, operations: Operation[], sync: boolean, apply: () => void): Promise<void> {
    const held = this.unwrittenHardState;
    this.unwrittenHardState = null;
    const all = held === null ? operations : [put(HARD_STATE_KEY, encodeHardStateRecord(held)), ...operations];
    await this.exclusively(operation, async () => {
      try {
        // A chained batch: classic-level's array form normalises and copies every operation in
        // JavaScript first, which costs about three times as much per operation.
        const batch = this.db.batch();
        for (const op of all) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
        }
        // etcd_disk_wal_fsync_duration_seconds: LevelDB writes and fsyncs a synced batch in one
        // call, so the write's own time is in it (small next to the fsync; etcd times the fsync alone).
        const startMs = performance.now();
        await batch.write({ sync });
        if (sync) walFsyncSeconds.observe(secondsSince(startMs));
      } catch (error) {
        this.failure = error;
        this.logger.warn({ dir: this.dir, operation, err: error }, 'a write to the write-ahead log failed; the log refuses further writes');
        throw error;
      }
    });
    apply();
  }

  /** Runs `work` as the one operation in flight (see checkUsable). */
  private async exclusively(operation: string, work: () => Promise<void>): Promise<void> {
    this.busyWith = operation;
    try {
      await work();
    } finally {
      this.busyWith = null;
    }
  }
}

function checkIdentity(identity: MemberIdentity): void {
  assert(Number.isSafeInteger(identity.memberId) && identity.memberId > 0, `member id ${identity.memberId} is not a positive integer`);
  assert(Number.isSafeInteger(identity.clusterId) && identity.clusterId > 0, `cluster id ${identity.clusterId} is not a positive integer`);
  const nameBytes = Buffer.byteLength(identity.name, 'utf8');
  if (nameBytes > MAX_NAME_BYTES) throw new WalLimitExceededError('member name', nameBytes, MAX_NAME_BYTES);
}

/** Records the identity in a fresh log, or checks the recorded one against it. */
async function establishIdentity(db: WalDb, dir: string, expected: MemberIdentity | null, logger: WalLogger): Promise<MemberIdentity> {
  const value = await db.get(IDENTITY_KEY);
  if (value === undefined) {
    if (!(await isEmptyDb(db))) throw new WalCorruptError(dir, 'the identity record is missing but other records exist');
    if (expected === null) throw new WalNotFoundError(dir);
    await db.put(IDENTITY_KEY, encodeIdentityRecord(expected), { sync: true });
    return { clusterId: expected.clusterId, memberId: expected.memberId, name: expected.name };
  }
  const stored = decodeStoredIdentity(dir, value);
  if (expected !== null && !sameMember(stored, expected)) throw new WalIdentityMismatchError(dir, stored, expected);
  if (expected !== null && stored.name !== expected.name) {
    logger.warn({ dir, storedName: stored.name, name: expected.name }, 'member name differs from the one recorded in the write-ahead log');
  }
  return stored;
}

function decodeStoredIdentity(dir: string, value: Buffer): MemberIdentity {
  let stored;
  try {
    stored = decodeIdentityRecord(value);
  } catch (error) {
    if (error instanceof DamagedRecordError) throw new WalCorruptError(dir, `the identity record is damaged (${error.message})`, { cause: error });
    throw error;
  }
  if (stored.format !== FORMAT_VERSION) throw new WalUnsupportedFormatError(dir, stored.format);
  return { clusterId: stored.clusterId, memberId: stored.memberId, name: stored.name };
}
