// Single-key gets at 16 concurrent requests, linearizable (etcd's default: a read index round
// through the leader) and serializable (the member's local state), after loading the keys.

import { runClosedLoop } from '../closed-loop.js';
import { KEY_SPACE, loadKeys, randomKey, randomValue } from '../keys.js';
import { describeLatency } from '../stats.js';
import { errorMessage } from '../time.js';
import { failedOutcomes, type MetricOutcomes, type MetricSpec, type Workload } from '../workload.js';

const CONCURRENCY = 16;
const PREFIX = 'bench/range/';
const MODES = ['linearizable', 'serializable'] as const;

function metricsOf(mode: (typeof MODES)[number]): MetricSpec[] {
  return [
    { name: `${mode} gets/s`, unit: 'ops/s', better: 'higher' },
    { name: `${mode} p50`, unit: 'ms', better: 'lower' },
    { name: `${mode} p99`, unit: 'ms', better: 'lower' },
  ];
}

export const rangeWorkload: Workload = {
  name: 'range',
  description: `single-key gets of ${KEY_SPACE.toLocaleString('en-US')} loaded keys at ${CONCURRENCY} concurrent requests, linearizable and serializable`,
  metrics: MODES.flatMap(metricsOf),
  needs: 'endpoints',
  timeBudgetMs: (options) => MODES.length * (options.warmupMs + options.durationMs) + 120_000,
  async run({ client, options, log }) {
    const loadStarted = performance.now();
    await loadKeys(client, PREFIX, KEY_SPACE, randomValue());
    log(`range: loaded ${KEY_SPACE} keys in ${Math.round(performance.now() - loadStarted)} ms`);
    const outcomes: MetricOutcomes = {};
    for (const mode of MODES) {
      const [throughput, p50, p99] = metricsOf(mode);
      try {
        const result = await runClosedLoop({
          concurrency: CONCURRENCY,
          durationMs: options.durationMs,
          warmupMs: options.warmupMs,
          operation: async () => {
            const key = randomKey(PREFIX);
            const response = await client.next().get(key, mode === 'serializable');
            // Checked on every answer: a fast wrong answer must not count.
            if (response.kvs.length !== 1) throw new Error(`get ${key} found ${response.kvs.length} keys`);
          },
        });
        outcomes[throughput.name] = result.throughputPerSecond;
        outcomes[p50.name] = result.latency.p50Ms;
        outcomes[p99.name] = result.latency.p99Ms;
        log(`range ${mode}: ${Math.round(result.throughputPerSecond)} gets/s, ${describeLatency(result.latency)}`);
      } catch (error) {
        Object.assign(outcomes, failedOutcomes([throughput, p50, p99], errorMessage(error)));
        log(`range ${mode}: error: ${errorMessage(error)}`);
      }
    }
    return outcomes;
  },
};
