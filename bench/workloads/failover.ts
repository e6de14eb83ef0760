// Failover: kill -9 the leader while a probe puts through each surviving member every 5 ms; the
// write-unavailability window is the longest gap between acknowledged probe writes around the
// kill. The killed member is restarted, and the cluster healthy again, before the next trial.

import { BenchClient, type EtcdChannel } from '../client.js';
import type { LocalCluster } from '../local-cluster.js';
import { percentile } from '../stats.js';
import { pollUntil, sleep } from '../time.js';
import { requireCluster, type Workload } from '../workload.js';

const PROBE_INTERVAL_MS = 5;
const PROBE_TIMEOUT_MS = 2000;
const PROBES_IN_FLIGHT_MAX = 1000;
/** Probing before the kill, so that the last acknowledgement before it is a real one. */
const BASELINE_MS = 300;
/** Writes count as back once they were acknowledged this long without a gap over RECOVERED_GAP_MS. */
const RECOVERED_STREAK_MS = 500;
const RECOVERED_GAP_MS = 50;
const RECOVERY_TIMEOUT_MS = 30_000;
const HEALTH_TIMEOUT_MS = 60_000;
const PROBE_VALUE = Buffer.from('failover-probe');

/** Acknowledgements (sorted) cover [from, to] with no gap over RECOVERED_GAP_MS. */
function continuouslyAcknowledged(ackTimes: readonly number[], from: number, to: number): boolean {
  let previous = from;
  for (const at of ackTimes) {
    if (at < from) continue;
    if (at - previous > RECOVERED_GAP_MS) return false;
    previous = at;
  }
  return to - previous <= RECOVERED_GAP_MS;
}

/** The longest gap between consecutive acknowledgements, from the last one before the kill on. */
function longestGapAround(ackTimes: readonly number[], killedAt: number): number {
  let start = 0;
  while (start + 1 < ackTimes.length && ackTimes[start + 1] < killedAt) start++;
  let longest = 0;
  for (let i = start + 1; i < ackTimes.length; i++) longest = Math.max(longest, ackTimes[i] - ackTimes[i - 1]);
  return longest;
}

interface TrialResult {
  readonly unavailableMs: number;
  /** From respawning the killed member until it serves a linearizable get: not a metric, but it bounds how fast trials go. */
  readonly restartMs: number;
}

async function oneTrial(cluster: LocalCluster, probe: BenchClient): Promise<TrialResult> {
  const leader = await cluster.waitForLeader(HEALTH_TIMEOUT_MS);
  const survivors: EtcdChannel[] = cluster.liveMembers.filter((member) => member !== leader).map((member) => probe.to(cluster.endpointOf(member)));
  const ackTimes: number[] = [];
  let inFlight = 0;
  const writeThroughEverySurvivor = (): void => {
    for (const channel of survivors) {
      if (inFlight >= PROBES_IN_FLIGHT_MAX) return;
      inFlight++;
      channel.put(`bench/failover/probe-${channel.endpoint}`, PROBE_VALUE, PROBE_TIMEOUT_MS).then(
        () => ackTimes.push(performance.now()),
        () => undefined, // refused or timed out while there is no leader: only acknowledgements count
      ).finally(() => inFlight--);
    }
  };
  const timer = setInterval(writeThroughEverySurvivor, PROBE_INTERVAL_MS);
  let killedAt: number;
  try {
    await sleep(BASELINE_MS);
    if (ackTimes.length === 0) throw new Error('no probe write was acknowledged before the kill');
    killedAt = performance.now();
    await cluster.kill(leader);
    await pollUntil('probe writes acknowledged again after killing the leader', async () => {
      const now = performance.now();
      const streakStart = now - RECOVERED_STREAK_MS;
      return streakStart > killedAt && continuouslyAcknowledged(ackTimes, streakStart, now) ? true : undefined;
    }, RECOVERY_TIMEOUT_MS, 20);
  } finally {
    clearInterval(timer);
  }
  await pollUntil('probe writes settled', async () => (inFlight === 0 ? true : undefined), PROBE_TIMEOUT_MS + 5000, 10);
  const unavailableMs = longestGapAround(ackTimes, killedAt);

  const respawnedAt = performance.now();
  cluster.spawn(leader);
  await cluster.waitForLeader(HEALTH_TIMEOUT_MS);
  const restarted = probe.to(cluster.endpointOf(leader));
  const serving = (): Promise<unknown> => restarted.get('bench/failover/health', false, 1000);
  await pollUntil(`${leader.name} serves a linearizable get after its restart`, serving, HEALTH_TIMEOUT_MS, 50);
  return { unavailableMs, restartMs: performance.now() - respawnedAt };
}

export const failoverWorkload: Workload = {
  name: 'failover',
  description: 'kill -9 of the leader under a put every 5 ms through each surviving member; the longest gap between acknowledged writes',
  metrics: [
    { name: 'write-unavailable p50', unit: 'ms', better: 'lower' },
    { name: 'write-unavailable max', unit: 'ms', better: 'lower' },
  ],
  needs: 'processes',
  timeBudgetMs: (options) => options.failoverTrials * (RECOVERY_TIMEOUT_MS + 2 * HEALTH_TIMEOUT_MS),
  async run(context) {
    const cluster = requireCluster(context, 'failover');
    const probe = new BenchClient(cluster.endpoints, 1);
    const windowsMs: number[] = [];
    try {
      for (let trial = 0; trial < context.options.failoverTrials; trial++) {
        const result = await oneTrial(cluster, probe);
        windowsMs.push(result.unavailableMs);
        const restart = `the killed member served again ${Math.round(result.restartMs)} ms after its restart`;
        context.log(`failover ${trial + 1}/${context.options.failoverTrials}: writes unavailable for ${Math.round(result.unavailableMs)} ms (${restart})`);
      }
    } finally {
      probe.close();
    }
    const sorted = [...windowsMs].sort((a, b) => a - b);
    return { 'write-unavailable p50': percentile(sorted, 50), 'write-unavailable max': sorted[sorted.length - 1] };
  },
};
