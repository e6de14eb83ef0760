// The one Prometheus registry of the process, and Node's own runtime metrics in it. Everything a
// member measures is registered here (not in prom-client's global registry), so /metrics shows
// exactly this process's etcd metrics plus process_* and nodejs_*.

import { collectDefaultMetrics, Registry } from 'prom-client';

export const registry = new Registry();

let processMetricsCollected = false;

/**
 * process_* (CPU, memory, file descriptors, start time) and nodejs_* (event-loop lag, GC, heap)
 * under prom-client's usual names. Started once, by the first member of the process: the
 * event-loop monitor and GC observer cost a little, which a process that serves nothing skips.
 */
export function collectProcessMetrics(): void {
  if (processMetricsCollected) return;
  processMetricsCollected = true;
  collectDefaultMetrics({ register: registry });
}

export interface MetricsText {
  readonly contentType: string;
  readonly body: string;
}

/** The registry in Prometheus's text format, with the content type to serve it under. */
export async function renderMetrics(): Promise<MetricsText> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
