// What a workload is: a named measurement with declared metrics, run against a cluster.

import type { BenchClient } from './client.js';
import type { LocalCluster } from './local-cluster.js';

export interface MetricSpec {
  readonly name: string;
  readonly unit: string;
  /** Which way is better; the comparison orients every ratio so that > 1 means raftkv is better. */
  readonly better: 'higher' | 'lower';
}

export interface MetricError {
  readonly error: string;
}

export type MetricOutcome = number | MetricError;

export type MetricOutcomes = Record<string, MetricOutcome>;

export interface BenchOptions {
  /** One throughput measurement, after its warmup. */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Unmeasured load on a shared cluster before its first measurement (bench/prime.ts); 0 skips it. */
  readonly primeMs: number;
  readonly failoverTrials: number;
  readonly transferTrials: number;
  readonly memoryKeyCount: number;
}

export function benchOptions(quick: boolean, durationMs?: number, primeMs?: number): BenchOptions {
  const base = quick
    ? { durationMs: 1500, warmupMs: 300, primeMs: 2000, failoverTrials: 3, transferTrials: 3, memoryKeyCount: 10_000 }
    : { durationMs: 5000, warmupMs: 1000, primeMs: 15_000, failoverTrials: 10, transferTrials: 5, memoryKeyCount: 100_000 };
  const primed = primeMs === undefined ? base : { ...base, primeMs };
  return durationMs === undefined ? primed : { ...primed, durationMs, warmupMs: Math.min(base.warmupMs, durationMs / 5) };
}

/**
 * What a workload needs besides a client:
 * - 'endpoints': any etcd-v3 endpoints will do;
 * - 'processes': a running cluster whose processes it may kill and restart;
 * - 'fresh-processes': a newly started cluster of its own (its state is the measurement);
 * - 'unstarted-processes': a cluster it spawns itself (the start is the measurement).
 */
export type WorkloadNeeds = 'endpoints' | 'processes' | 'fresh-processes' | 'unstarted-processes';

export interface WorkloadContext {
  readonly client: BenchClient;
  /** Present when the harness started the cluster's processes. */
  readonly cluster: LocalCluster | null;
  readonly options: BenchOptions;
  /** One line of progress. */
  readonly log: (line: string) => void;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  readonly metrics: readonly MetricSpec[];
  readonly needs: WorkloadNeeds;
  /** The longest the workload may take before it counts as failed. */
  timeBudgetMs(options: BenchOptions): number;
  run(context: WorkloadContext): Promise<MetricOutcomes>;
}

export function isMetricError(outcome: MetricOutcome | undefined): outcome is MetricError {
  return typeof outcome === 'object' && outcome !== null;
}

/** Every metric of `metrics` set to the same error. */
export function failedOutcomes(metrics: readonly MetricSpec[], message: string): MetricOutcomes {
  return Object.fromEntries(metrics.map((metric) => [metric.name, { error: message }]));
}

export function requireCluster(context: WorkloadContext, workload: string): LocalCluster {
  if (context.cluster === null) throw new Error(`${workload} needs processes the harness started (use --system etcd|raftkv)`);
  return context.cluster;
}
