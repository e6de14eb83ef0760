// Memory: VmRSS of each member's own process on a fresh cluster, idle and after loading keys
// (100,000 of 256 bytes; 10,000 with --quick), as the mean over the three members.

import { loadKeys, randomValue } from '../keys.js';
import type { LocalCluster } from '../local-cluster.js';
import { RSS_SETTLE_MS, pollUntil, sleep } from '../time.js';
import { requireCluster, type Workload } from '../workload.js';

const PREFIX = 'bench/memory/';
const MiB = 1024 * 1024;

function meanRssMiB(cluster: LocalCluster): number {
  const rss = cluster.members.map((member) => cluster.rssBytes(member));
  return rss.reduce((sum, bytes) => sum + bytes, 0) / rss.length / MiB;
}

export const memoryWorkload: Workload = {
  name: 'memory',
  description: 'RSS per member (mean of three) of a fresh cluster, idle and after loading keys of 256 bytes',
  metrics: [
    { name: 'RSS idle', unit: 'MiB', better: 'lower' },
    { name: 'RSS after load', unit: 'MiB', better: 'lower' },
  ],
  needs: 'fresh-processes',
  // Loading at a few thousand puts/s at worst, with room to spare.
  timeBudgetMs: (options) => 60_000 + options.memoryKeyCount * 2,
  async run(context) {
    const cluster = requireCluster(context, 'memory');
    const idleMiB = meanRssMiB(cluster);
    const loadStarted = performance.now();
    await loadKeys(context.client, PREFIX, context.options.memoryKeyCount, randomValue());
    context.log(`memory: loaded ${context.options.memoryKeyCount} keys in ${Math.round(performance.now() - loadStarted)} ms`);
    // Every member has applied everything before its memory is read.
    await pollUntil('every member applied the load', async () => {
      const statuses = await Promise.all(cluster.members.map((member) => cluster.status(member)));
      const applied = statuses.map((status) => Number(status.raftAppliedIndex));
      return applied.every((index) => index === applied[0]) ? true : undefined;
    }, 60_000, 50);
    await sleep(RSS_SETTLE_MS);
    const loadedMiB = meanRssMiB(cluster);
    context.log(`memory: RSS per member ${idleMiB.toFixed(1)} MiB idle, ${loadedMiB.toFixed(1)} MiB after the load`);
    return { 'RSS idle': idleMiB, 'RSS after load': loadedMiB };
  },
};
