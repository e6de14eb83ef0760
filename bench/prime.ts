// Unmeasured load before a cluster's first measurement, so that every system is measured in its
// steady state, as it serves in production, not in its first seconds.
//
// This matters for a JIT runtime: a raftkv member runs its hot paths in V8's interpreter and
// baseline tiers for its first few thousand requests, and a put then costs it about twice the CPU
// it costs a few thousand puts later. etcd, compiled ahead of time, gains nothing from it, loses nothing
// either, and gets the same load. The cold start is measured on its own (the election workload).

import type { BenchClient } from './client.js';
import { runClosedLoop } from './closed-loop.js';
import { randomKey, randomValue } from './keys.js';
import type { Log } from './progress.js';

const PRIME_CONCURRENCY = 16;
const PREFIX = 'bench/prime/';

/** One of each request the throughput workloads send, in turn: put, linearizable get, serializable get, CAS. */
const OPERATIONS = ['put', 'get', 'serializable-get', 'txn'] as const;

export async function primeCluster(client: BenchClient, primeMs: number, log: Log): Promise<void> {
  if (primeMs <= 0) return;
  const value = randomValue();
  let next = 0;
  const result = await runClosedLoop({
    concurrency: PRIME_CONCURRENCY,
    durationMs: primeMs,
    warmupMs: 0,
    operation: async () => {
      const channel = client.next();
      const key = randomKey(PREFIX);
      const operation = OPERATIONS[next++ % OPERATIONS.length];
      if (operation === 'put') await channel.put(key, value);
      else if (operation === 'get') await channel.get(key);
      else if (operation === 'serializable-get') await channel.get(key, true);
      else await channel.compareAndSwap(Buffer.from(key), 0, value);
    },
  });
  log(`prime: ${Math.round(primeMs / 1000)} s of unmeasured load (${Math.round(result.throughputPerSecond)} requests/s) before the first measurement`);
}
