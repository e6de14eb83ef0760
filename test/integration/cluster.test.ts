// Real member processes on loopback: writes go through Raft, reads are linearizable on any
// member, and nothing acknowledged is lost when members are killed with SIGKILL and restarted.

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, call, eventually, type MemberProcess } from './harness.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

function put(c: TestCluster, member: MemberProcess, key: string, value: string): Promise<any> {
  return call(c.client(member), 'Put', { key: Buffer.from(key), value: Buffer.from(value) });
}

function get(c: TestCluster, member: MemberProcess, key: string, rangeEnd?: string): Promise<any> {
  return call(c.client(member), 'Range', { key: Buffer.from(key), ...(rangeEnd === undefined ? {} : { range_end: Buffer.from(rangeEnd) }) });
}

/** Writes key-0, key-1, ... through `member` until stopped; records every acknowledged index. */
function writeLoop(c: TestCluster, pickMember: () => MemberProcess): { acknowledged: Set<number>; stop(): Promise<void> } {
  const acknowledged = new Set<number>();
  let running = true;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (running) {
      const index = next++;
      try {
        await call(c.client(pickMember()), 'Put', { key: Buffer.from(`load/${String(index).padStart(6, '0')}`), value: Buffer.from(String(index)) }, 2000);
        acknowledged.add(index);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  return {
    acknowledged,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** Acknowledged writes the load must reach before and after a fault: progress, not a rate. */
const PROGRESS_WRITES = 10;
/** Generous: only a cluster that stopped taking writes altogether takes this long. */
const PROGRESS_TIMEOUT_MS = 30_000;

/** Waits until `count` more writes than `from` are acknowledged, however long a loaded machine takes (up to a generous deadline). */
async function acknowledgedBeyond(load: { acknowledged: Set<number> }, from: number, count = PROGRESS_WRITES): Promise<void> {
  await eventually(`${count} acknowledged writes beyond ${from}`, async () => {
    if (load.acknowledged.size < from + count) throw new Error(`${load.acknowledged.size} acknowledged`);
  }, PROGRESS_TIMEOUT_MS);
}

async function expectAllPresent(c: TestCluster, member: MemberProcess, acknowledged: Set<number>): Promise<void> {
  const response = await get(c, member, 'load/', 'load0');
  const present = new Map<string, string>(response.kvs.map((kv: any) => [kv.key.toString(), kv.value.toString()]));
  for (const index of acknowledged) expect(present.get(`load/${String(index).padStart(6, '0')}`), `acknowledged write ${index}`).toBe(String(index));
  for (const kv of response.kvs) expect(Number(kv.version), `key ${kv.key} written once`).toBe(1);
}

describe('a three-member cluster of real processes', () => {
  it('replicates writes made on any member and serves linearizable reads everywhere', async () => {
    cluster = await TestCluster.start(3);
    const [m1, m2, m3] = cluster.members;
    const first = await put(cluster, m2, 'greeting', 'hello');
    expect(Number(first.header.revision)).toBeGreaterThan(1);
    await put(cluster, m3, 'greeting', 'hello again');
    for (const member of [m1, m2, m3]) {
      const response = await get(cluster, member, 'greeting');
      expect(response.kvs.map((kv: any) => kv.value.toString())).toEqual(['hello again']);
      expect(Number(response.kvs[0].version)).toBe(2);
      expect(Number(response.header.cluster_id)).toBeGreaterThan(0);
    }
    await put(cluster, m1, 'greetinh', 'x');
    const prefix = await get(cluster, m3, 'greeting', 'greetinh');
    expect(prefix.kvs).toHaveLength(1);
  }, 60_000);

  it('moves leadership on MoveLeader, asked of the leader, to a voter only', async () => {
    cluster = await TestCluster.start(3);
    const leader = await cluster.waitForLeader();
    const [target, other] = cluster.members.filter((member) => member !== leader);
    const targetId = Number((await call(cluster.client(target, 'Maintenance'), 'Status', {})).header.member_id);
    await expect(call(cluster.client(other, 'Maintenance'), 'MoveLeader', { targetID: targetId })).rejects.toMatchObject({ code: 9, details: 'etcdserver: not leader' });
    await expect(call(cluster.client(leader, 'Maintenance'), 'MoveLeader', { targetID: 12345 })).rejects.toMatchObject({ code: 9, details: 'etcdserver: bad leader transferee' });
    await call(cluster.client(leader, 'Maintenance'), 'MoveLeader', { targetID: targetId });
    expect(await cluster.waitForLeader()).toBe(target);
    await put(cluster, other, 'after-move', 'v');
  }, 60_000);

  it('refuses an empty key with InvalidArgument and keeps serving', async () => {
    cluster = await TestCluster.start(3);
    const [m1] = cluster.members;
    await expect(put(cluster, m1, '', 'v')).rejects.toMatchObject({ code: 3, details: 'etcdserver: key is not provided' });
    await put(cluster, m1, 'k', 'v');
  }, 60_000);

  it('loses no acknowledged write when the leader is killed with SIGKILL mid-load and restarted', async () => {
    cluster = await TestCluster.start(3);
    const c = cluster;
    const leader = await c.waitForLeader();
    const followers = c.members.filter((m) => m !== leader);
    const load = writeLoop(c, () => followers[Math.floor(Math.random() * followers.length)]);
    // The kill lands in a running load: writes acknowledged first, then the kill while they go on.
    await acknowledgedBeyond(load, 0);
    await c.kill(leader);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    c.launch(leader);
    // The cluster takes writes again once the leader is back (however slowly): not a rate, just progress.
    await acknowledgedBeyond(load, load.acknowledged.size);
    await load.stop();
    await c.waitForLeader();
    for (const member of c.members) await expectAllPresent(c, member, load.acknowledged);
  }, 90_000);

  it('loses no acknowledged write when every member is killed with SIGKILL during a load', async () => {
    cluster = await TestCluster.start(3);
    const c = cluster;
    const load = writeLoop(c, () => c.members[Math.floor(Math.random() * c.members.length)]);
    // Not vacuous: writes were acknowledged before the kill (waited for, not counted in a window).
    await acknowledgedBeyond(load, 0);
    await Promise.all(c.members.map((member) => c.kill(member)));
    await load.stop();
    expect(load.acknowledged.size).toBeGreaterThanOrEqual(PROGRESS_WRITES);
    for (const member of c.members) c.launch(member);
    await c.waitForLeader();
    for (const member of c.members) await expectAllPresent(c, member, load.acknowledged);
  }, 90_000);
});

/** Waits until a serializable range over snap/ on `member` holds 200 keys; returns the count. */
async function eventuallyRange(c: TestCluster, member: MemberProcess): Promise<number> {
  return eventually('200 snap/ keys', async () => {
    const response = await call(c.client(member), 'Range', { key: Buffer.from('snap/'), range_end: Buffer.from('snap0'), serializable: true }, 1000);
    if (response.kvs.length !== 200) throw new Error(`${response.kvs.length} keys`);
    return response.kvs.length as number;
  });
}

/**
 * The member's "installed snapshot from the leader" log line. Waited for: the keys can be read over
 * gRPC before the line has come through the pipe, on a loaded machine.
 */
async function installLogged(member: MemberProcess): Promise<string> {
  return eventually(`${member.name} logging the snapshot install`, async () => {
    const line = member.output.split('\n').find((entry) => entry.includes('installed snapshot from the leader'));
    if (line === undefined) throw new Error('not logged yet');
    return line;
  });
}

/** A cluster snapshotting every 40 entries, and a follower of it killed. */
async function clusterWithKilledFollower(): Promise<{ c: TestCluster; leader: MemberProcess; lagging: MemberProcess }> {
  cluster = await TestCluster.start(3, ['--snapshot-count=40', '--log-level=info']);
  const c = cluster;
  const leader = await c.waitForLeader();
  const lagging = c.members.find((m) => m !== leader) as MemberProcess;
  await c.kill(lagging);
  return { c, leader, lagging };
}

/** Puts snap/<i> for i in [from, to) through `member`. */
async function putSnapKeys(c: TestCluster, member: MemberProcess, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await put(c, member, `snap/${String(i).padStart(4, '0')}`, `v${i}`);
}

describe('snapshots', () => {
  it('takes one every --snapshot-count applied entries, counted from the last one (not from the start of the log it keeps behind it)', async () => {
    cluster = await TestCluster.start(1, ['--snapshot-count=40', '--log-level=info']);
    const c = cluster;
    const leader = await c.waitForLeader();
    await putSnapKeys(c, leader, 0, 200);
    const indexes = leader.output
      .split('\n')
      .filter((line) => line.includes('"created snapshot"'))
      .map((line) => (JSON.parse(line) as { index: number }).index);
    expect(indexes.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < indexes.length; i++) expect(indexes[i]! - indexes[i - 1]!).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it('brings back a follower that fell behind the compacted log with a snapshot', async () => {
    const { c, leader, lagging } = await clusterWithKilledFollower();
    await putSnapKeys(c, leader, 0, 200);
    c.launch(lagging);
    expect(await eventuallyRange(c, lagging)).toBe(200);
    await installLogged(lagging);

    // The WAL's snapshots hold no image: the store must cover them. A store that lost its data
    // (here: deleted) cannot be rebuilt from the partial log, and the member refuses to start
    // rather than serve a store with holes.
    await c.kill(lagging, 'SIGTERM');
    // Since the install, the store's database is the staged copy member/kv.current names: all of it goes.
    const memberDir = join(lagging.dataDir, 'member');
    for (const name of readdirSync(memberDir).filter((entry) => entry === 'kv' || entry.startsWith('kv.'))) rmSync(join(memberDir, name), { recursive: true, force: true });
    const child = c.launch(lagging);
    const exitCode = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code))); // 'close': the output read to the end
    expect(exitCode).not.toBe(0);
    expect(lagging.output).toMatch(/key-value store has applied index 0, behind the write-ahead log's snapshot/);
  }, 60_000);

  it('sends a snapshot of the store as it is when the follower needs it, past the log\'s snapshot', async () => {
    const { c, leader, lagging } = await clusterWithKilledFollower();
    // Puts go on while the follower restarts: the leader's store is past its log's snapshot when
    // the image is encoded.
    await putSnapKeys(c, leader, 0, 130);
    c.launch(lagging);
    await putSnapKeys(c, leader, 130, 200);
    expect(await eventuallyRange(c, lagging)).toBe(200);
    const installed = await installLogged(lagging);
    const { index, appliedIndex } = JSON.parse(installed as string) as { index: number; appliedIndex: number };
    // What this test is about: the image came from a store past the log's snapshot.
    expect(appliedIndex).toBeGreaterThan(index);
    // The follower's store and history equal the leader's: nothing applied twice, nothing skipped.
    const hashes = await eventually('every member at the same revision', async () => {
      const answers = await Promise.all(c.members.map(async (member) => call(c.client(member, 'Maintenance'), 'HashKV', { revision: 0 }, 2000)));
      if (new Set(answers.map((answer) => Number(answer.header.revision))).size !== 1) throw new Error('revisions differ');
      return answers;
    });
    expect(new Set(hashes.map((answer) => answer.hash)).size).toBe(1);
  }, 60_000);
});
