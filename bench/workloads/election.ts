// Cold start: the time from spawning all three members (empty data dirs) to the first Status
// answer, from any member, that names a leader. Status is polled on every member every 10 ms.

import { BenchClient } from '../client.js';
import { pollUntil } from '../time.js';
import { requireCluster, type Workload } from '../workload.js';

const POLL_INTERVAL_MS = 10;
const TIMEOUT_MS = 30_000;
/**
 * gRPC backs off between failed connection attempts (by default from a second up); while the
 * members are still starting that would add its own delay to the measurement, so these channels
 * retry every 10 ms like the poll itself.
 */
const EAGER_RECONNECT = { 'grpc.initial_reconnect_backoff_ms': POLL_INTERVAL_MS, 'grpc.max_reconnect_backoff_ms': POLL_INTERVAL_MS };

export const electionWorkload: Workload = {
  name: 'election',
  description: 'cold start of three members with empty data dirs until the first Status that names a leader',
  metrics: [{ name: 'cold start to leader', unit: 'ms', better: 'lower' }],
  needs: 'unstarted-processes',
  timeBudgetMs: () => TIMEOUT_MS + 10_000,
  async run(context) {
    const cluster = requireCluster(context, 'election');
    const probe = new BenchClient(cluster.endpoints, 1, EAGER_RECONNECT);
    try {
      const channels = cluster.endpoints.map((endpoint) => probe.to(endpoint));
      const spawnedAt = performance.now();
      cluster.spawnAll();
      const electedAt = await pollUntil(`${cluster.system.name}: a first leader`, async () => {
        // Each answer is timed when it arrives, not when the slowest of the three does.
        const answeredAt = await Promise.all(channels.map((channel) => channel.status(POLL_INTERVAL_MS * 20).then(
          (status) => (status.leaderId !== '0' ? performance.now() : Infinity),
          () => Infinity,
        )));
        const first = Math.min(...answeredAt);
        return first === Infinity ? undefined : first;
      }, TIMEOUT_MS, POLL_INTERVAL_MS);
      const coldStartMs = electedAt - spawnedAt;
      context.log(`election: first leader ${Math.round(coldStartMs)} ms after spawn`);
      return { 'cold start to leader': coldStartMs };
    } finally {
      probe.close();
    }
  },
};
