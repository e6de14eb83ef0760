// When the store writes what was applied: one unsynced batch per interval, as etcd's backend
// commits every 100 ms. The WAL already holds every applied entry, so a member that dies replays
// them from the store's persisted index; neither the next Ready nor the clients' answers wait for
// this write. A batch that grows past the cap goes at once.

import type { MvccStore } from '../mvcc/mvcc-store.js';

const STORE_PERSIST_INTERVAL_MS = 100;
const STORE_PENDING_WRITES_MAX = 10_000;

export class StorePacer {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /** `failed`: the store could not write, so its state on disk is unknown. */
  constructor(
    private readonly store: MvccStore,
    private readonly failed: (error: unknown) => void,
  ) {}

  /** Entries were applied: they go to disk within the interval. */
  applied(): void {
    if (this.store.pendingWrites >= STORE_PENDING_WRITES_MAX) {
      this.persist();
      return;
    }
    this.timer ??= setTimeout(() => this.persist(), STORE_PERSIST_INTERVAL_MS);
  }

  /** No more scheduled writes; what is pending is for the caller to persist on its way out. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private persist(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    this.store.persist().catch((error: unknown) => this.failed(error));
  }
}
