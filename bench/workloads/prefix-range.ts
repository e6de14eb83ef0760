// Ranges over a 1,000-key prefix (about 270 KB per answer), linearizable, a few at a time.

import { prefixRangeEnd } from '../client.js';
import { runClosedLoop } from '../closed-loop.js';
import { loadKeys, randomValue } from '../keys.js';
import type { Workload } from '../workload.js';

const KEY_COUNT = 1000;
const CONCURRENCY = 4;
const PREFIX = 'bench/prefix/';

export const prefixRangeWorkload: Workload = {
  name: 'prefix-range',
  description: `ranges over a ${KEY_COUNT.toLocaleString('en-US')}-key prefix (256-byte values) at ${CONCURRENCY} concurrent requests`,
  metrics: [
    { name: 'prefix ranges/s', unit: 'ops/s', better: 'higher' },
    { name: 'prefix range p50', unit: 'ms', better: 'lower' },
  ],
  needs: 'endpoints',
  timeBudgetMs: (options) => options.warmupMs + options.durationMs + 60_000,
  async run({ client, options, log }) {
    await loadKeys(client, PREFIX, KEY_COUNT, randomValue());
    const rangeEnd = prefixRangeEnd(PREFIX);
    const result = await runClosedLoop({
      concurrency: CONCURRENCY,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      operation: async () => {
        const response = await client.next().call<{ kvs: unknown[] }>('KV', 'Range', { key: Buffer.from(PREFIX), range_end: rangeEnd });
        if (response.kvs.length !== KEY_COUNT) throw new Error(`prefix range found ${response.kvs.length} keys, not ${KEY_COUNT}`);
      },
    });
    log(`prefix-range: ${Math.round(result.throughputPerSecond)} ranges/s, p50 ${result.latency.p50Ms.toFixed(2)} ms`);
    return { 'prefix ranges/s': result.throughputPerSecond, 'prefix range p50': result.latency.p50Ms };
  },
};
