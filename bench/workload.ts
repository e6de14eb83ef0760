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
  /** The scale workload: how many puts (one key each), of how many random bytes, and the bound on each catch-up. */
  readonly scalePutCount: number;
  readonly scaleValueBytes: number;
  readonly scaleCatchUpTimeoutMs: number;
  /** GET /metrics on every member of a shared cluster this often while it serves (0: never). */
  readonly scrapeMetricsMs: number;
}

const SCALE_VALUE_BYTES = 8 * 1024;
/** 327 MB of values: about what a mid-sized Kubernetes cluster keeps in etcd (issue 15). */
const SCALE_PUTS = 40_000;
/** 2 GiB of values (`--large`). */
const SCALE_PUTS_LARGE = 260_000;
const SCALE_PUTS_QUICK = 2_000;

/** `large` sizes the scale workload at 2 GiB of values, over `quick`'s or the default size. */
export function benchOptions(quick: boolean, durationMs?: number, primeMs?: number, large = false, scrapeMetricsMs = 0): BenchOptions {
  const scale = {
    scalePutCount: large ? SCALE_PUTS_LARGE : quick ? SCALE_PUTS_QUICK : SCALE_PUTS,
    scaleValueBytes: SCALE_VALUE_BYTES,
    scaleCatchUpTimeoutMs: large ? 600_000 : quick ? 60_000 : 180_000,
    scrapeMetricsMs,
  };
  const base = quick
    ? { durationMs: 1500, warmupMs: 300, primeMs: 2000, failoverTrials: 3, transferTrials: 3, memoryKeyCount: 10_000, ...scale }
    : { durationMs: 5000, warmupMs: 1000, primeMs: 15_000, failoverTrials: 10, transferTrials: 5, memoryKeyCount: 100_000, ...scale };
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
  /** Flags its fresh cluster's members start with besides the shared tuning, on both systems alike. */
  readonly memberFlags?: readonly string[];
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
