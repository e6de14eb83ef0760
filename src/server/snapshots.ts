// Raft snapshots without images in the WAL, the way etcd's v3 store works: the key-value store is
// durable on its own (its own database, with the Raft index it has applied), so a snapshot in the
// WAL is only a marker — "everything up to here is in the store, the log before it may go". What a
// follower receives for a MsgSnap is a dump of the store's database as it is then (persisted
// first, so its meta record's applied index is at or past the snapshot's), streamed from one
// consistent view as the peer call has room (src/mvcc/store-dump.ts); the follower stages it and
// installs it whole (src/server/snapshot-inbox.ts), and skips the entries between the snapshot's
// index and the dump's applied index as it applies them, because its new store says it holds them.
//
// What that buys: no whole-store image every --snapshot-count entries (encoding it, fsyncing tens
// of megabytes into the WAL and holding it in memory), on every member, whether or not any
// follower ever needs one.
//
// The invariant that makes it safe: the store is synced at or past a snapshot's index before the
// WAL records the snapshot and drops the log before it (see create). A follower's store is
// restored, synced, before its WAL records the snapshot it came with (see the member's Ready loop).

import type { Logger } from 'pino';
import type { ConfState, Message, Snapshot } from '../raft/index.js';
import type { MvccStore } from '../mvcc/mvcc-store.js';
import type { Wal } from '../storage/index.js';
import type { SnapshotMessage, SnapshotSource } from '../transport/index.js';

/** Entries kept in the log behind a snapshot (etcd's catch-up entries), for slightly slow followers. */
const SNAPSHOT_CATCH_UP_ENTRIES = 5000;
const NO_IMAGE = new Uint8Array(0);

export interface SnapshotsContext {
  readonly store: MvccStore;
  readonly wal: Wal;
  readonly logger: Logger;
  readonly snapshotCount: number;
  /** Streams a MsgSnap with its body to its peer; the outcome reaches the Raft core through the transport. */
  sendSnapshot(message: SnapshotMessage, body: SnapshotSource): void;
  /** The size of each chunk of a snapshot's body. */
  readonly snapshotChunkBytes: number;
  /** Tells the Raft core a snapshot could not be sent, so it probes the follower again. */
  snapshotFailed(to: number): void;
  isStopped(): boolean;
  /** The store is synced for a snapshot: run the Ready loop so the WAL can record it. */
  onSynced(): void;
}

export class MemberSnapshots {
  private readonly context: SnapshotsContext;
  /** A store sync for a snapshot is running. */
  private syncing = false;
  /** The store synced at this index; the WAL records it at the next call. */
  private synced: { index: number; confState: ConfState } | null = null;

  constructor(context: SnapshotsContext) {
    this.context = context;
  }

  /**
   * Sends a MsgSnap on its own stream, with a fresh dump of the store as its body: every MsgSnap
   * gets a dump of its own, from the store as it is when the dump opens; a failed send is
   * reported, and the Raft core's next MsgSnap for that follower starts from the beginning.
   */
  sendWithDump(message: Message): void {
    const { store, logger } = this.context;
    if (message.snapshot === null || message.snapshot === undefined) return;
    const snapshotMessage: SnapshotMessage = { ...message, snapshot: { ...message.snapshot, data: NO_IMAGE } };
    store.openDump(this.context.snapshotChunkBytes).then(
      (dump) => {
        if (this.context.isStopped()) {
          dump.close();
          return;
        }
        this.context.sendSnapshot(snapshotMessage, dump);
      },
      (error: unknown) => {
        logger.error({ err: error, to: message.to }, 'could not open a dump of the store for a snapshot');
        this.context.snapshotFailed(message.to);
      },
    );
  }

  /** The snapshot as the WAL records it: without its data (the name of a staged copy, now installed in the store). */
  static forWal(snapshot: Snapshot): Snapshot {
    return snapshot.data.byteLength === 0 ? snapshot : { metadata: snapshot.metadata, data: NO_IMAGE };
  }

  /**
   * Every --snapshot-count applied entries: syncs the store, then records a snapshot at the index
   * it was synced at in the WAL, and drops the log before it but a tail. The sync runs in the
   * background (it took 10-40 ms under load, a stall for every client of this member); the WAL's
   * part waits for a later call, between Readies, because WAL writes must not overlap. `confState`
   * gives the configuration as of the store's applied index (asked only when a snapshot is due);
   * the caller makes sure the Raft core has applied that far.
   */
  async maybeCreate(confState: () => ConfState): Promise<void> {
    const { store, wal, snapshotCount } = this.context;
    if (this.synced !== null) {
      const synced = this.synced;
      this.synced = null;
      await this.record(synced.index, synced.confState);
      return;
    }
    const index = store.appliedIndex;
    // Counted from the last snapshot, as etcd counts, not from the start of the log, which the
    // catch-up tail keeps behind the snapshot (counting from there snapshotted twice as often).
    if (this.syncing || index - wal.storage.snapshot().metadata.index < snapshotCount) return;
    // The WAL may drop entries only once the store holds them on disk.
    this.syncing = true;
    const configuration = confState();
    store.persist(undefined, { sync: true }).then(
      () => {
        this.syncing = false;
        this.synced = { index, confState: configuration };
        this.context.onSynced();
      },
      (error: unknown) => {
        // The store fails the member on a write error (see the member's persist): nothing to record.
        this.syncing = false;
        this.context.logger.warn({ err: error, index }, 'could not sync the store for a snapshot');
      },
    );
  }

  /** The store is synced at `index`: the WAL records the snapshot and drops the log before it. */
  private async record(index: number, confState: ConfState): Promise<void> {
    const { wal, logger, snapshotCount } = this.context;
    if (index <= wal.storage.snapshot().metadata.index) return;
    const logStart = wal.storage.firstIndex() - 1;
    const startedAt = performance.now();
    await wal.createSnapshot(index, confState, NO_IMAGE);
    // Keeping more of the log than one snapshot interval buys nothing.
    const compactTo = index - Math.min(SNAPSHOT_CATCH_UP_ENTRIES, Math.floor(snapshotCount / 2));
    if (compactTo > logStart) await wal.compact(compactTo);
    logger.info({ index, compactedTo: Math.max(compactTo, logStart), tookMs: Math.round(performance.now() - startedAt) }, 'created snapshot');
  }
}
