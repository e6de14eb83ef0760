// The comparison of two systems' repeats: per metric, the median and spread of each, and the
// ratio oriented so that > 1 means raftkv is better.

import type { WorkloadResults } from './local-run.js';
import { spreadOf, type Spread } from './stats.js';
import { isMetricError, type MetricSpec, type Workload } from './workload.js';

export interface Cell {
  /** Null when every repeat failed. */
  readonly spread: Spread | null;
  readonly repeats: number;
  /** One entry per failed repeat. */
  readonly errors: string[];
}

export interface ComparisonRow {
  readonly workload: string;
  readonly metric: MetricSpec;
  readonly etcd: Cell;
  readonly raftkv: Cell;
  /** raftkv/etcd where higher is better, etcd/raftkv where lower is better; null without both medians. */
  readonly ratio: number | null;
}

function cellOf(repeats: readonly WorkloadResults[], workload: string, metric: string): Cell {
  const values: number[] = [];
  const errors: string[] = [];
  for (const results of repeats) {
    const outcome = results.get(workload)?.[metric];
    if (outcome === undefined) errors.push('not run');
    else if (isMetricError(outcome)) errors.push(outcome.error);
    else values.push(outcome);
  }
  return { spread: values.length === 0 ? null : spreadOf(values), repeats: repeats.length, errors };
}

export function orientedRatio(metric: MetricSpec, etcd: number, raftkv: number): number | null {
  const ratio = metric.better === 'higher' ? raftkv / etcd : etcd / raftkv;
  return Number.isFinite(ratio) && ratio > 0 ? ratio : null;
}

export function compare(workloads: readonly Workload[], etcd: readonly WorkloadResults[], raftkv: readonly WorkloadResults[]): ComparisonRow[] {
  return workloads.flatMap((workload) =>
    workload.metrics.map((metric) => {
      const etcdCell = cellOf(etcd, workload.name, metric.name);
      const raftkvCell = cellOf(raftkv, workload.name, metric.name);
      const ratio = etcdCell.spread === null || raftkvCell.spread === null ? null : orientedRatio(metric, etcdCell.spread.median, raftkvCell.spread.median);
      return { workload: workload.name, metric, etcd: etcdCell, raftkv: raftkvCell, ratio };
    }),
  );
}
