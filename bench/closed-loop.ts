// A closed-loop load: N workers, each with one request in flight, for a fixed time after a warmup.

import { summarizeLatencies, type LatencySummary } from './stats.js';
import { errorMessage } from './time.js';

export interface ClosedLoopSpec {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** One operation; a rejection counts as a failed operation. */
  readonly operation: (worker: number) => Promise<void>;
}

export interface ClosedLoopResult {
  readonly throughputPerSecond: number;
  readonly latency: LatencySummary;
}

/**
 * Throughput counts operations completed inside the measured window; latencies are those of the
 * operations started inside it. Any failed operation fails the measurement: a benchmark number
 * that hides errors would not be honest.
 */
export async function runClosedLoop(spec: ClosedLoopSpec): Promise<ClosedLoopResult> {
  const startedAt = performance.now();
  const windowStart = startedAt + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  const latenciesMs: number[] = [];
  let completedInWindow = 0;
  let failures = 0;
  let firstFailure: unknown = null;

  const worker = async (index: number): Promise<void> => {
    while (performance.now() < windowEnd) {
      const before = performance.now();
      try {
        await spec.operation(index);
      } catch (error) {
        failures++;
        firstFailure ??= error;
        continue;
      }
      const after = performance.now();
      if (before >= windowStart) latenciesMs.push(after - before);
      if (after >= windowStart && after <= windowEnd) completedInWindow++;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => worker(i)));

  if (failures > 0) throw new Error(`${failures} operations failed; the first: ${errorMessage(firstFailure)}`);
  if (latenciesMs.length === 0) throw new Error('no operation completed inside the measured window');
  return { throughputPerSecond: completedInWindow / (spec.durationMs / 1000), latency: summarizeLatencies(latenciesMs) };
}
