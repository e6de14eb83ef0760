// The store's writes on their way to disk. Every change (a transaction's records and values, a
// compaction's deletions, a member metadata record) waits here until the next persist(), which
// writes all of them, with the meta record (applied Raft index, revision, compacted revision), in
// one classic-level batch, unsynced: after a crash the member replays its write-ahead log from the
// persisted index. Persists queue behind one another (never overlap) and coalesce, so the member
// need not wait for them: its durability comes from the write-ahead log.

import type { ClassicLevel } from 'classic-level';
import { META_KEY, encodeMeta, type MetaRecord } from './codec.js';
import { MvccWriteFailedError } from './errors.js';
import type { ValueStore } from './value-store.js';
import { backendCommitSeconds, secondsSince } from '../metrics/index.js';

export type BatchOperation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** What a batch takes from the store as it starts: consistent as of that moment. */
export interface BatchSource {
  /** The active database (an install replaces it). */
  readonly db: ClassicLevel<Buffer, Buffer>;
  /** Whose held values the batch writes (the operations carry them); told once they are written. */
  readonly values: ValueStore;
  readonly meta: MetaRecord;
}

export class PersistQueue {
  /** Records and metadata changes waiting for the next batch. */
  private pending: BatchOperation[] = [];
  private persisting: Promise<void> = Promise.resolve();
  private persistQueued: Promise<void> | null = null;
  /** A persist() asked for a sync; the next batch to start carries it. */
  private syncNextPersist = false;
  private writeFailed = false;

  constructor(private readonly sourceNow: () => BatchSource) {}

  /**
   * A batch (or an install) failed: what is in memory may no longer match the disk, so the store
   * refuses further writes until the member restarts.
   */
  get failed(): boolean {
    return this.writeFailed;
  }

  fail(): void {
    this.writeFailed = true;
  }

  /** Queues an operation for the next batch. */
  add(operation: BatchOperation): void {
    this.pending.push(operation);
  }

  /** Operations waiting for the next batch. */
  get length(): number {
    return this.pending.length;
  }

  /** Forgets every waiting operation: the state they describe is being replaced. */
  drop(): void {
    this.pending = [];
  }

  /**
   * Writes everything queued by the time the batch starts. Persists never overlap: one queued
   * behind the running one takes everything pending when it starts. With `sync`, that batch is
   * fsync'd, and with it every earlier one.
   */
  persist(sync: boolean): Promise<void> {
    if (sync) this.syncNextPersist = true;
    if (this.persistQueued !== null) return this.persistQueued;
    const queued = this.persisting.then(() => {
      this.persistQueued = null;
      return this.writePending();
    });
    this.persistQueued = queued;
    this.persisting = queued.catch(() => {});
    return queued;
  }

  /** Resolves once every persist() asked for so far has finished. */
  async flushed(): Promise<void> {
    await this.persisting;
  }

  /** One batch: the pending records and metadata, and the applied index and revisions, consistent as of now. */
  private async writePending(): Promise<void> {
    if (this.writeFailed) throw new MvccWriteFailedError();
    const { db, values, meta } = this.sourceNow();
    const operations = this.pending;
    this.pending = [];
    const valuesWritten = values.heldRecords();
    operations.push({ type: 'put', key: META_KEY, value: encodeMeta(meta) });
    const sync = this.syncNextPersist;
    this.syncNextPersist = false;
    try {
      // A chained batch: classic-level's array form normalises and copies every operation in
      // JavaScript first, which costs about three times as much per operation.
      const batch = db.batch();
      for (const op of operations) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      // etcd_disk_backend_commit_duration_seconds: this batch is the store's commit, as etcd's
      // backend commits its batch transaction every 100 ms.
      const startMs = performance.now();
      await batch.write({ sync });
      backendCommitSeconds.observe(secondsSince(startMs));
    } catch (error) {
      this.writeFailed = true;
      throw new MvccWriteFailedError({ cause: error });
    }
    values.written(valuesWritten);
  }
}
