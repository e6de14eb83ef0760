// etcd 3.4's store gauges (its mvcc/metrics.go and mvcc/backend), read from the bound store at
// scrape time. etcd 3.4 prints the database size under both its new and its old (debugging) name.

import { Gauge } from 'prom-client';
import { Binding } from './cells.js';
import { registry } from './registry.js';

export interface StoreStateSource {
  /** The database's size on disk. LevelDB keeps no free pages: what is allocated is in use. */
  dbSizeBytes(): number | Promise<number>;
  /** Live keys at the current revision. */
  keys(): number;
  watchers(): number;
  /** Watchers behind the store's revision, catching up. */
  slowWatchers(): number;
  currentRevision(): number;
  compactRevision(): number;
}

export const storeState = new Binding<StoreStateSource>();

function gauge(name: string, help: string, read: (source: StoreStateSource) => number | Promise<number>): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect(this: Gauge) {
      const source = storeState.current;
      this.set(source === null ? 0 : await read(source));
    },
  });
}

const DB_SIZE_HELP = 'Total size of the underlying database physically allocated in bytes.';
gauge('etcd_mvcc_db_total_size_in_bytes', DB_SIZE_HELP, (s) => s.dbSizeBytes());
gauge('etcd_debugging_mvcc_db_total_size_in_bytes', DB_SIZE_HELP, (s) => s.dbSizeBytes());
gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', (s) => s.dbSizeBytes());
gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', (s) => s.keys());
gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', (s) => s.watchers());
gauge('etcd_debugging_mvcc_slow_watcher_total', 'Total number of unsynced slow watchers.', (s) => s.slowWatchers());
gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', (s) => s.currentRevision());
gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', (s) => s.compactRevision());
