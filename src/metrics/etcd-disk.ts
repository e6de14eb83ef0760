// etcd 3.4's disk latency histograms (its wal/metrics.go and mvcc/backend/metrics.go), with its
// buckets: 1 ms doubling to 8.192 s. Observed once per write batch, not per request.

import { Histogram } from 'prom-client';
import { registry } from './registry.js';

/** Go's prometheus.ExponentialBuckets: `count` bounds from `start`, each `factor` times the last. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const buckets: number[] = [];
  for (let bound = start, i = 0; i < count; i++, bound *= factor) buckets.push(bound);
  return buckets;
}

/** Time of a synced write of the write-ahead log (the write and its fsync: one LevelDB call). */
export const walFsyncSeconds = new Histogram({
  name: 'etcd_disk_wal_fsync_duration_seconds',
  help: 'The latency distributions of fsync called by WAL.',
  buckets: exponentialBuckets(0.001, 2, 14),
  registers: [registry],
});

/** Time of one batch of the key-value store's database (etcd's backend commit). */
export const backendCommitSeconds = new Histogram({
  name: 'etcd_disk_backend_commit_duration_seconds',
  help: 'The latency distributions of commit called by backend.',
  buckets: exponentialBuckets(0.001, 2, 14),
  registers: [registry],
});

/** Seconds since `startMs`, a performance.now() reading. */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}
