// Put throughput and latency at 1, 16 and 256 concurrent clients: 256-byte values, random keys
// out of 10,000.

import { runClosedLoop } from '../closed-loop.js';
import { randomKey, randomValue } from '../keys.js';
import { describeLatency } from '../stats.js';
import { errorMessage } from '../time.js';
import { failedOutcomes, type MetricOutcomes, type MetricSpec, type Workload } from '../workload.js';

const CONCURRENCIES = [1, 16, 256];
const PREFIX = 'bench/put/';

function metricsAt(concurrency: number): MetricSpec[] {
  return [
    { name: `puts/s @${concurrency}`, unit: 'ops/s', better: 'higher' },
    { name: `p50 @${concurrency}`, unit: 'ms', better: 'lower' },
    { name: `p99 @${concurrency}`, unit: 'ms', better: 'lower' },
  ];
}

export const putWorkload: Workload = {
  name: 'put',
  description: 'puts of 256-byte values to random keys (10,000), at 1, 16 and 256 concurrent requests',
  metrics: CONCURRENCIES.flatMap(metricsAt),
  needs: 'endpoints',
  timeBudgetMs: (options) => CONCURRENCIES.length * (options.warmupMs + options.durationMs) + 60_000,
  async run({ client, options, log }) {
    const value = randomValue();
    const outcomes: MetricOutcomes = {};
    // Each level on its own: a failure at 256 leaves the numbers at 1 and 16 standing.
    for (const concurrency of CONCURRENCIES) {
      const [throughput, p50, p99] = metricsAt(concurrency);
      try {
        const result = await runClosedLoop({
          concurrency,
          durationMs: options.durationMs,
          warmupMs: options.warmupMs,
          operation: async () => {
            await client.next().put(randomKey(PREFIX), value);
          },
        });
        outcomes[throughput.name] = result.throughputPerSecond;
        outcomes[p50.name] = result.latency.p50Ms;
        outcomes[p99.name] = result.latency.p99Ms;
        log(`put @${concurrency}: ${Math.round(result.throughputPerSecond)} puts/s, ${describeLatency(result.latency)}`);
      } catch (error) {
        Object.assign(outcomes, failedOutcomes([throughput, p50, p99], errorMessage(error)));
        log(`put @${concurrency}: error: ${errorMessage(error)}`);
      }
    }
    return outcomes;
  },
};
