// Leadership transfer: Maintenance.MoveLeader sent to the leader, naming a follower, until Status
// on every member names that follower (and the call has succeeded).

import type { EtcdChannel } from '../client.js';
import { percentile } from '../stats.js';
import { pollUntil } from '../time.js';
import type { Workload } from '../workload.js';

const POLL_INTERVAL_MS = 10;
const TRANSFER_TIMEOUT_MS = 15_000;

interface Agreement {
  readonly leaderId: string;
  /** The member id behind each channel. */
  readonly memberIds: string[];
}

/** Undefined until every member answers and they all name the same leader. */
async function agreement(channels: readonly EtcdChannel[]): Promise<Agreement | undefined> {
  const statuses = await Promise.all(channels.map((channel) => channel.status(1000)));
  const leaderId = statuses[0].leaderId;
  if (leaderId === '0' || statuses.some((status) => status.leaderId !== leaderId)) return undefined;
  return { leaderId, memberIds: statuses.map((status) => status.memberId) };
}

export const leaderTransferWorkload: Workload = {
  name: 'leader-transfer',
  description: 'MoveLeader from the leader to a follower, until every member names the new leader',
  metrics: [
    { name: 'transfer p50', unit: 'ms', better: 'lower' },
    { name: 'transfer max', unit: 'ms', better: 'lower' },
  ],
  needs: 'endpoints',
  timeBudgetMs: (options) => options.transferTrials * 2 * TRANSFER_TIMEOUT_MS,
  async run({ client, options, log }) {
    const channels = client.endpoints.map((endpoint) => client.to(endpoint));
    const transferMs: number[] = [];
    for (let trial = 0; trial < options.transferTrials; trial++) {
      const before = await pollUntil('members agree on a leader', () => agreement(channels), TRANSFER_TIMEOUT_MS, POLL_INTERVAL_MS);
      const leaderIndex = before.memberIds.indexOf(before.leaderId);
      if (leaderIndex < 0) throw new Error(`the leader ${before.leaderId} is none of the endpoints`);
      const followers = before.memberIds.filter((id) => id !== before.leaderId);
      if (followers.length === 0) throw new Error('a leadership transfer needs at least two members');
      const targetId = followers[trial % followers.length];
      const startedAt = performance.now();
      // The id as a decimal string: the request encoder takes it as an exact uint64.
      const moved = channels[leaderIndex].call('Maintenance', 'MoveLeader', { targetID: targetId }, TRANSFER_TIMEOUT_MS).then(() => performance.now());
      // Polled while the call is under way: its answer may come later than the new leader does
      // (etcd 3.4 checks for the new leader once a heartbeat interval before it answers).
      const electedAt = await pollUntil('every member names the new leader', async () => {
        const after = await agreement(channels);
        return after?.leaderId === targetId ? performance.now() : undefined;
      }, TRANSFER_TIMEOUT_MS, POLL_INTERVAL_MS);
      const answeredAt = await moved;
      transferMs.push(electedAt - startedAt);
      const answered = `MoveLeader answered after ${Math.round(answeredAt - startedAt)} ms`;
      log(`leader-transfer ${trial + 1}/${options.transferTrials}: all name the new leader after ${Math.round(electedAt - startedAt)} ms, ${answered}`);
    }
    const sorted = [...transferMs].sort((a, b) => a - b);
    return { 'transfer p50': percentile(sorted, 50), 'transfer max': sorted[sorted.length - 1] };
  },
};
