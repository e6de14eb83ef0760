// Compare-and-swap on mod_revision, as a control plane's optimistic update does: read the key,
// then a Txn that puts only if the key's mod_revision is still the one read, else gets it.

import { runClosedLoop } from '../closed-loop.js';
import { KEY_SPACE, randomKey, randomValue } from '../keys.js';
import type { RangeResponse } from '../client.js';
import type { Workload } from '../workload.js';

const CONCURRENCY = 16;
const PREFIX = 'bench/cas/';

export const txnCasWorkload: Workload = {
  name: 'txn-cas',
  description: `read + Txn(compare mod_revision, put | get) on random keys of ${KEY_SPACE.toLocaleString('en-US')}, ${CONCURRENCY} concurrent`,
  metrics: [
    { name: 'CAS/s', unit: 'ops/s', better: 'higher' },
    { name: 'CAS p99', unit: 'ms', better: 'lower' },
  ],
  needs: 'endpoints',
  timeBudgetMs: (options) => options.warmupMs + options.durationMs + 60_000,
  async run({ client, options, log }) {
    const value = randomValue();
    let swapped = 0;
    let conflicts = 0;
    const result = await runClosedLoop({
      concurrency: CONCURRENCY,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      operation: async () => {
        const key = Buffer.from(randomKey(PREFIX));
        const channel = client.next();
        const read = await channel.call<RangeResponse>('KV', 'Range', { key });
        // A missing key has mod_revision 0, which the compare matches just the same.
        const modRevision = read.kvs[0]?.mod_revision ?? 0;
        const txn = await channel.compareAndSwap(key, modRevision, value);
        if (txn.succeeded) swapped++;
        else conflicts++;
      },
    });
    log(`txn-cas: ${Math.round(result.throughputPerSecond)} CAS/s, p99 ${result.latency.p99Ms.toFixed(2)} ms (${swapped} swapped, ${conflicts} conflicts)`);
    if (swapped === 0) throw new Error('no compare-and-swap succeeded');
    return { 'CAS/s': result.throughputPerSecond, 'CAS p99': result.latency.p99Ms };
  },
};
