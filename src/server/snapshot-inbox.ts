// A follower's inbound snapshots: each MsgSnap's body (a dump of the leader's store, see
// src/mvcc/store-dump.ts) is written into a staging database beside the store as it arrives and
// checked (sha256, meta at or past the snapshot's index) before the MsgSnap reaches the Raft core.
// The MsgSnap handed on carries, instead of an image, the name of its staged copy; when a Ready
// carries that snapshot, the member installs the copy (MvccStore.installStaged). Nothing here
// touches the store itself: until the install, the member's data is as it was.
//
// At most one stream is received at a time: a new one from the leader (its retry after a failure
// this side may not have noticed yet) supersedes one in progress. A staged copy the Raft core did
// not take (it was stale) is removed at once; copies left by a crash are removed at startup
// (src/mvcc/store-directory.ts).

import { rm } from 'node:fs/promises';
import { basename, join, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Message } from '../raft/index.js';
import type { MvccStore } from '../mvcc/mvcc-store.js';
import { StoreDumpStager } from '../mvcc/store-dump.js';
import { isStagingDirectoryOf, newStagingDirectory } from '../mvcc/store-directory.js';
import type { SnapshotMessage, SnapshotSink } from '../transport/index.js';
import { ServerError, ServerErrorCode } from './errors.js';

const REFERENCE_PREFIX = 'raftkv-staged:';

interface Transfer {
  readonly directory: string;
  readonly stager: Promise<StoreDumpStager>;
  superseded: boolean;
}

export class SnapshotInbox {
  /** The stream being received, if any. */
  private receiving: Transfer | null = null;
  /** Checked copies handed to the Raft core, not yet installed: directory by reference. */
  private readonly staged = new Map<string, string>();
  private installing: string | null = null;

  constructor(
    private readonly storeDirectory: string,
    private readonly logger: Logger,
  ) {}

  /** The transport's onSnapshotStream: a sink that stages the body of `header`'s snapshot. */
  open(header: SnapshotMessage): SnapshotSink {
    if (this.receiving !== null) this.receiving.superseded = true;
    const directory = newStagingDirectory(this.storeDirectory);
    const transfer: Transfer = { directory, stager: StoreDumpStager.create(directory), superseded: false };
    // A failed create surfaces on the first write; keep it from being reported as unhandled meanwhile.
    transfer.stager.catch(() => {});
    this.receiving = transfer;
    const index = header.snapshot.metadata.index;
    const stager = async (): Promise<StoreDumpStager> => {
      if (transfer.superseded) throw new ServerError(ServerErrorCode.SnapshotSuperseded, `snapshot stream at index ${index} superseded by a newer one`);
      return transfer.stager;
    };
    const done = (): void => {
      if (this.receiving === transfer) this.receiving = null;
    };
    return {
      write: async (chunk) => (await stager()).write(chunk),
      finish: async (): Promise<Message> => {
        const { appliedIndex } = await (await stager()).finish(index);
        done();
        const reference = REFERENCE_PREFIX + basename(directory);
        this.staged.set(reference, directory);
        this.logger.info({ from: header.from, index, appliedIndex, directory }, 'received and staged a snapshot');
        return { ...header, snapshot: { ...header.snapshot, data: Buffer.from(reference, 'utf8') } };
      },
      abort: async () => {
        done();
        const created = await transfer.stager.catch(() => null);
        if (created !== null) await created.abort();
        else await rm(directory, { recursive: true, force: true });
      },
    };
  }

  /**
   * After MsgSnaps were stepped: `taken` is the data of the snapshot the Raft core now holds to
   * persist (or undefined). Every other staged copy not being installed was refused: removed.
   */
  keepOnly(taken: Uint8Array | undefined): void {
    const keep = taken === undefined ? null : Buffer.from(taken).toString('utf8');
    for (const [reference, directory] of this.staged) {
      if (reference === keep || reference === this.installing) continue;
      this.staged.delete(reference);
      this.logger.info({ directory }, 'dropping a staged snapshot the Raft core did not take');
      void rm(directory, { recursive: true, force: true });
    }
  }

  /**
   * The staged copy a Ready's snapshot names (its data, as finish() set it), for installing.
   * Throws for data that names none: an image from an older version, or a copy already gone.
   */
  take(data: Uint8Array): string {
    const reference = Buffer.from(data).toString('utf8');
    const directory = this.staged.get(reference);
    if (directory === undefined || !isStagingDirectoryOf(this.storeDirectory, join(dirname(this.storeDirectory), basename(directory)))) {
      throw new ServerError(
        ServerErrorCode.StagedSnapshotUnknown,
        reference.startsWith(REFERENCE_PREFIX)
          ? `the snapshot names a staged store copy this member does not hold (${reference})`
          : 'the snapshot carries a store image from an older raftkv version; images are no longer installed (remove this member and add it again with an empty data dir)',
      );
    }
    this.installing = reference;
    return directory;
  }

  /**
   * Installs into `store` the staged copy a Ready's snapshot names (its data). `crashAfterStep`
   * (the snapshot-install-crash-after failpoint, tests only) kills the process with SIGKILL right
   * after that step of the install, as a kill -9 would.
   */
  async install(store: MvccStore, data: Uint8Array, crashAfterStep: string | undefined): Promise<void> {
    const staged = this.take(data);
    try {
      await store.installStaged(staged, async (step) => {
        if (step !== crashAfterStep) return;
        process.kill(process.pid, 'SIGKILL');
        await new Promise<never>(() => {}); // never past this point
      });
    } finally {
      this.settled(staged);
    }
  }

  /** The copy take() returned was installed (or failed to be): forget it. */
  settled(directory: string): void {
    for (const [reference, staged] of this.staged) if (staged === directory) this.staged.delete(reference);
    this.installing = null;
  }

  /** The member stops: a stream in progress is dropped by its transport; staged copies go. */
  async close(): Promise<void> {
    if (this.receiving !== null) this.receiving.superseded = true;
    const directories = [...this.staged.values()];
    this.staged.clear();
    await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
  }
}
