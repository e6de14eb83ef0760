// Every workload, in the order the comparison runs them: the cold start first (it starts the
// cluster the others use), failover last among those sharing it (it kills members), memory on a
// fresh cluster of its own, scale likewise.

import type { Workload } from '../workload.js';
import { electionWorkload } from './election.js';
import { failoverWorkload } from './failover.js';
import { leaderTransferWorkload } from './leader-transfer.js';
import { memoryWorkload } from './memory.js';
import { prefixRangeWorkload } from './prefix-range.js';
import { putWorkload } from './put.js';
import { rangeWorkload } from './range.js';
import { scaleWorkload } from './scale.js';
import { txnCasWorkload } from './txn-cas.js';
import { watchFanoutWorkload } from './watch-fanout.js';

export const WORKLOADS: readonly Workload[] = [
  electionWorkload,
  putWorkload,
  rangeWorkload,
  prefixRangeWorkload,
  txnCasWorkload,
  watchFanoutWorkload,
  leaderTransferWorkload,
  failoverWorkload,
  memoryWorkload,
  scaleWorkload,
];

/**
 * What `npm run bench:compare` runs unless told otherwise: all but `scale`, which loads hundreds of
 * megabytes and waits out catch-ups that today time out on raftkv (about 10 minutes a repeat), so
 * it runs when named (`--workloads scale`).
 */
export const DEFAULT_WORKLOADS: readonly Workload[] = WORKLOADS.filter((workload) => workload !== scaleWorkload);

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((workload) => workload.name === name);
}
