// Scale: a fresh cluster loaded with large random values (40,000 × 8 KiB = 327 MB by default;
// 2,000 with --quick; 260,000 = 2 GiB with --large), then what a store that size costs: memory and
// disk per member, how fast a new learner and a wiped, re-added follower catch up, and how fast a
// killed follower restarts on its data dir (issue 15).
//
// Steps, each bounded: load; add a learner, time its catch-up, remove it again (a learner left
// behind that never catches up would keep its leader busy sending snapshots through the later
// steps); kill -9 a follower and restart it on its data dir; kill -9 a follower, wipe its data dir,
// remove it, add it back as a voter and time its catch-up. The restart goes before the re-add:
// while a re-added voter has not caught up, killing another member would lose the quorum.

import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { prefixRangeEnd, type EtcdChannel, type RangeResponse } from '../client.js';
import { keyName, loadKeys } from '../keys.js';
import type { LocalCluster, Member } from '../local-cluster.js';
import { RSS_SETTLE_MS, errorMessage, pollUntil, sleep } from '../time.js';
import { requireCluster, type MetricOutcome, type Workload, type WorkloadContext } from '../workload.js';

const PREFIX = 'bench/scale/';
const MiB = 1024 * 1024;
const LOAD_IN_FLIGHT = 32;
const PUT_TIMEOUT_MS = 30_000;
/** After the load every member must apply it; generous, as a slow follower may lag by minutes at 2 GiB. */
const APPLIED_TIMEOUT_MS = 300_000;
const LEADER_TIMEOUT_MS = 60_000;
const MEMBERSHIP_CALL_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 100;
const MEMBER_ADD_RETRY_MS = 30_000;
const DIGEST_PAGE_TIMEOUT_MS = 30_000;
/** etcd's recommended maximum quota, 8 GiB. */
const SCALE_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;

export const LOAD_RATE = 'load';
export const LOAD_BANDWIDTH = 'load bandwidth';
export const RSS_AFTER_LOAD = 'RSS after load';
export const DISK_AFTER_LOAD = 'disk after load';
export const LEARNER_CATCH_UP = 'learner catch-up';
export const RESTART = 'follower restart';
export const READDED_CATCH_UP = 're-added follower catch-up';

async function appliedIndex(cluster: LocalCluster, member: Member): Promise<number> {
  return Number((await cluster.status(member)).raftAppliedIndex);
}

async function everyMemberApplied(cluster: LocalCluster): Promise<void> {
  await pollUntil('every member applied the load', async () => {
    const applied = await Promise.all(cluster.members.map((member) => appliedIndex(cluster, member)));
    return applied.every((index) => index === applied[0]) ? true : undefined;
  }, APPLIED_TIMEOUT_MS, POLL_INTERVAL_MS);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Seconds from `startedAt` until the member's applied index reaches `target`, or a MetricError
 * once `timeoutMs` has passed without it.
 */
async function catchUpSeconds(cluster: LocalCluster, member: Member, target: number, startedAt: number, timeoutMs: number): Promise<MetricOutcome> {
  const deadline = startedAt + timeoutMs;
  while (performance.now() < deadline) {
    if (member.process === null) return { error: `${member.name} exited (${member.lastExit ?? 'unknown'}) before it caught up` };
    try {
      if ((await appliedIndex(cluster, member)) >= target) return (performance.now() - startedAt) / 1000;
    } catch {
      // Not answering yet: still starting, or busy receiving.
    }
    await sleep(POLL_INTERVAL_MS);
  }
  return { error: `did not catch up within ${Math.round(timeoutMs / 1000)} s` };
}

/**
 * Cluster.MemberAdd, retried while etcd refuses it as "unhealthy cluster": with its strict reconfig
 * check it adds no member until every voter has been connected for 5 s, which a member restarted
 * a moment ago has not. Returns the new member's exact id and when the accepted call was sent.
 */
async function addMember(admin: EtcdChannel, peerUrl: string, isLearner: boolean): Promise<{ id: string; sentAt: number }> {
  const deadline = performance.now() + MEMBER_ADD_RETRY_MS;
  for (;;) {
    const sentAt = performance.now();
    try {
      return { id: await admin.memberAdd([peerUrl], isLearner, MEMBERSHIP_CALL_TIMEOUT_MS), sentAt };
    } catch (error) {
      if (!errorMessage(error).includes('unhealthy cluster') || performance.now() > deadline) throw error;
    }
    await sleep(500);
  }
}

/** Keys per Range page when reading a member's whole keyspace back (about 8 MB of 8 KiB values). */
const DIGEST_PAGE_KEYS = 1000;

/**
 * A digest of the load's keys as `channel`'s member holds them at `revision`: every key, value,
 * create and mod revision and version, read by serializable Range pages (the one read etcd serves
 * on a learner; HashKV it refuses there).
 */
async function keyspaceDigest(channel: EtcdChannel, revision: number): Promise<string> {
  const hash = createHash('sha256');
  const rangeEnd = prefixRangeEnd(PREFIX);
  let from = Buffer.from(PREFIX);
  for (;;) {
    const page = await channel.call<RangeResponse & { more: boolean }>('KV', 'Range', { key: from, range_end: rangeEnd, limit: DIGEST_PAGE_KEYS, revision, serializable: true }, DIGEST_PAGE_TIMEOUT_MS);
    for (const kv of page.kvs) {
      hash.update(`${kv.key.byteLength}:${kv.value.byteLength}:${kv.create_revision}:${kv.mod_revision}:${kv.version}:`);
      hash.update(kv.key);
      hash.update(kv.value);
    }
    if (!page.more || page.kvs.length === 0) return hash.digest('hex');
    from = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
  }
}

/**
 * A caught-up member must hold what the leader holds: the load's keyspace at its last revision
 * the same on both. A catch-up that reached the applied index with different data is an error,
 * not a time.
 */
async function sameDataAsLeader(cluster: LocalCluster, leader: Member, member: Member, loadedRevision: number, outcome: MetricOutcome): Promise<MetricOutcome> {
  if (typeof outcome !== 'number') return outcome;
  const [expected, actual] = await Promise.all([leader, member].map((m) => keyspaceDigest(cluster.client.to(cluster.endpointOf(m)), loadedRevision)));
  if (expected === actual) return outcome;
  return { error: `caught up with different data: the keyspace at revision ${loadedRevision} differs between ${member.name} and ${leader.name}` };
}

function describe(outcome: MetricOutcome): string {
  return typeof outcome === 'number' ? `${outcome.toFixed(1)} s` : outcome.error;
}

/** Step 2: a learner joins; seconds until it applied what the leader had applied when it was added (and holds the same data). Then it leaves again. */
async function learnerCatchUp(context: WorkloadContext, cluster: LocalCluster, loadedRevision: number): Promise<MetricOutcome> {
  const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
  const learner = await cluster.createJoiner(`${cluster.system.name}-learner`);
  const admin = cluster.client.to(cluster.endpointOf(leader));
  const { id: learnerId, sentAt: startedAt } = await addMember(admin, cluster.peerUrlOf(learner), true);
  const target = await appliedIndex(cluster, leader);
  cluster.spawn(learner, { initialCluster: [...cluster.members, learner] });
  const outcome = await sameDataAsLeader(cluster, leader, learner, loadedRevision, await catchUpSeconds(cluster, learner, target, startedAt, context.options.scaleCatchUpTimeoutMs));
  context.log(`scale: the learner ${typeof outcome === 'number' ? 'caught up in ' : ''}${describe(outcome)} (to applied index ${target})`);
  await cluster.kill(learner);
  await admin.memberRemove(learnerId, MEMBERSHIP_CALL_TIMEOUT_MS);
  rmSync(learner.dataDir, { recursive: true, force: true });
  return outcome;
}

/** Step 3: kill -9 a follower, restart it on its data dir; seconds until it serves a linearizable get and applied the leader's index. */
async function followerRestart(context: WorkloadContext, cluster: LocalCluster): Promise<MetricOutcome> {
  const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
  const follower = cluster.members.find((member) => member !== leader)!;
  await cluster.kill(follower);
  const target = await appliedIndex(cluster, leader);
  const startedAt = performance.now();
  cluster.spawn(follower);
  const channel = cluster.client.to(cluster.endpointOf(follower));
  const timeoutMs = context.options.scaleCatchUpTimeoutMs;
  let outcome: MetricOutcome = { error: `did not serve a linearizable get within ${Math.round(timeoutMs / 1000)} s` };
  while (performance.now() < startedAt + timeoutMs) {
    try {
      await channel.get(keyName(PREFIX, 0), false, 1000);
      if ((await appliedIndex(cluster, follower)) >= target) {
        outcome = (performance.now() - startedAt) / 1000;
        break;
      }
    } catch {
      // Still starting.
    }
    await sleep(POLL_INTERVAL_MS);
  }
  context.log(`scale: ${follower.name} restarted on its data dir: ${describe(outcome)}`);
  return outcome;
}

/** Step 4: kill -9 a follower, wipe its data, remove it and add it back; seconds until it applied the leader's index at the add (with the same data). */
async function readdedCatchUp(context: WorkloadContext, cluster: LocalCluster, loadedRevision: number): Promise<MetricOutcome> {
  const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
  const follower = cluster.members.find((member) => member !== leader)!;
  const oldId = follower.id;
  if (oldId === null) throw new Error(`${follower.name}'s member id is not known`);
  await cluster.kill(follower);
  rmSync(follower.dataDir, { recursive: true, force: true });
  const admin = cluster.client.to(cluster.endpointOf(leader));
  await admin.memberRemove(oldId, MEMBERSHIP_CALL_TIMEOUT_MS);
  const { id: newId, sentAt: startedAt } = await addMember(admin, cluster.peerUrlOf(follower), false);
  follower.id = newId;
  const target = await appliedIndex(cluster, leader);
  cluster.spawn(follower, { initialCluster: cluster.members });
  const outcome = await sameDataAsLeader(cluster, leader, follower, loadedRevision, await catchUpSeconds(cluster, follower, target, startedAt, context.options.scaleCatchUpTimeoutMs));
  context.log(`scale: ${follower.name}, wiped and re-added, ${typeof outcome === 'number' ? 'caught up in ' : ''}${describe(outcome)} (to applied index ${target})`);
  return outcome;
}

export const scaleWorkload: Workload = {
  name: 'scale',
  description: 'a fresh cluster loaded with 8 KiB random values: load rate, RSS and disk per member, learner and re-added follower catch-up, follower restart',
  metrics: [
    { name: LOAD_RATE, unit: 'puts/s', better: 'higher' },
    { name: LOAD_BANDWIDTH, unit: 'MB/s', better: 'higher' },
    { name: RSS_AFTER_LOAD, unit: 'MiB', better: 'lower' },
    { name: DISK_AFTER_LOAD, unit: 'MiB', better: 'lower' },
    { name: LEARNER_CATCH_UP, unit: 's', better: 'lower' },
    { name: RESTART, unit: 's', better: 'lower' },
    { name: READDED_CATCH_UP, unit: 's', better: 'lower' },
  ],
  needs: 'fresh-processes',
  // --large stores 2.1 GB of values, past both systems' default 2 GiB quota (both refuse the load
  // with "database space exceeded"): every scale run gives both etcd's recommended maximum.
  memberFlags: [`--quota-backend-bytes=${SCALE_QUOTA_BYTES}`],
  // Loading at 100 puts/s at worst, each member applying it, three catch-ups and the membership changes around them.
  timeBudgetMs: (options) => 120_000 + options.scalePutCount * 10 + APPLIED_TIMEOUT_MS + 3 * options.scaleCatchUpTimeoutMs + 6 * LEADER_TIMEOUT_MS,
  async run(context) {
    const cluster = requireCluster(context, 'scale');
    const { scalePutCount: count, scaleValueBytes: valueBytes } = context.options;
    const loadStarted = performance.now();
    await loadKeys(context.client, PREFIX, count, () => randomBytes(valueBytes), LOAD_IN_FLIGHT, PUT_TIMEOUT_MS);
    // The revision every member's HashKV is compared at after a catch-up: the load's last.
    const loadedRevision = (await context.client.next().get(keyName(PREFIX, 0))).header.revision;
    const loadS = (performance.now() - loadStarted) / 1000;
    const putsPerS = count / loadS;
    const megabytesPerS = (count * valueBytes) / 1e6 / loadS;
    context.log(`scale: loaded ${count} × ${valueBytes} B in ${loadS.toFixed(1)} s: ${Math.round(putsPerS)} puts/s, ${megabytesPerS.toFixed(1)} MB/s`);
    await everyMemberApplied(cluster);
    await sleep(RSS_SETTLE_MS);
    const rssMiB = cluster.members.map((member) => cluster.rssBytes(member) / MiB);
    const diskMiB = cluster.members.map((member) => cluster.diskBytes(member) / MiB);
    context.log(`scale: RSS ${rssMiB.map((v) => v.toFixed(0)).join(', ')} MiB; disk ${diskMiB.map((v) => v.toFixed(0)).join(', ')} MiB`);

    const learner = await learnerCatchUp(context, cluster, loadedRevision);
    const restart = await followerRestart(context, cluster);
    const readded = await readdedCatchUp(context, cluster, loadedRevision);
    return {
      [LOAD_RATE]: putsPerS,
      [LOAD_BANDWIDTH]: megabytesPerS,
      [RSS_AFTER_LOAD]: mean(rssMiB),
      [DISK_AFTER_LOAD]: mean(diskMiB),
      [LEARNER_CATCH_UP]: learner,
      [RESTART]: restart,
      [READDED_CATCH_UP]: readded,
    };
  },
};
