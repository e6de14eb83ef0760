// Snapshots streamed as store dumps, with real processes: a store of tens of MB of random values
// (a smaller stand-in for the 327 MB; the benchmark runs the big one) catches up a new
// learner by snapshot (--snapshot-count is small, so the log it would need is compacted away),
// through a link cut mid-transfer, a receiver killed mid-stream and a sender killed mid-stream.
// Every time, the end state is every key, value and revision equal (HashKV) on every member.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, call, eventually, freePort, type MemberProcess } from './harness.js';
import { PeerProxy } from './proxy.js';

let cluster: TestCluster | null = null;
const proxies: PeerProxy[] = [];
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close();
  await cluster?.stop();
  cluster = null;
});

const KiB = 1024;
const VALUE_BYTES = 48 * KiB;
const PUTS = 640; // about 30 MB of random values, over 400 keys: overwrites keep old revisions too
const KEYS = 400;

/** Writes `puts` random values through `member`, 16 at a time, and deletes a few keys. */
async function load(c: TestCluster, member: MemberProcess, puts = PUTS): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < puts) {
      const i = next++;
      await call(c.client(member), 'Put', { key: Buffer.from(`big/${String(i % KEYS).padStart(4, '0')}`), value: randomBytes(VALUE_BYTES) }, 20_000);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  for (let i = 0; i < 5; i++) await call(c.client(member), 'DeleteRange', { key: Buffer.from(`big/${String(i).padStart(4, '0')}`) });
}

/** The staged snapshot copies in a member's data dir (beside its store, member/kv), not counting the active database kv.current names. */
function stagingDirs(member: MemberProcess): string[] {
  const dir = join(member.dataDir, 'member');
  if (!existsSync(dir)) return [];
  const pointer = join(dir, 'kv.current');
  const active = existsSync(pointer) ? readFileSync(pointer, 'utf8').trim() : 'kv';
  return readdirSync(dir).filter((name) => name.startsWith('kv.db-') && name !== active);
}

/** Waits until `member` has logged installing a snapshot (its output arrives asynchronously). */
async function installedSnapshot(member: MemberProcess): Promise<void> {
  await eventually(`${member.name} installed a snapshot`, async () => expect(member.output).toMatch(/installed snapshot from the leader/));
}

/** Resolves once `member` has a staged copy on disk: a snapshot is being received. */
async function midTransfer(member: MemberProcess): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const dirs = stagingDirs(member);
    if (dirs.length > 0) return dirs;
    if (Date.now() > deadline) throw new Error(`no snapshot transfer to ${member.name} began\n${member.output.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every running member at the same revision with the same HashKV: every key, value and revision equal. */
async function expectEqualStores(c: TestCluster, timeoutMs = 30_000, puts = PUTS): Promise<void> {
  const answers = await eventually(
    'every member at the same revision',
    async () => {
      const running = c.members.filter((member) => member.process !== null);
      const hashes = await Promise.all(running.map((member) => call(c.client(member, 'Maintenance'), 'HashKV', { revision: 0 }, 5000)));
      if (new Set(hashes.map((answer) => Number(answer.header.revision))).size !== 1) throw new Error(`revisions differ: ${hashes.map((answer) => answer.header.revision).join(', ')}`);
      return hashes;
    },
    timeoutMs,
  );
  if (new Set(answers.map((answer) => answer.hash)).size !== 1) {
    const running = c.members.filter((member) => member.process !== null);
    const ranges = await Promise.all(running.map((member) => call(c.client(member), 'Range', { key: Buffer.from([0]), range_end: Buffer.from([0]), serializable: true, keys_only: true }, 20_000)));
    const summary = (kv: any) => `${Buffer.from(kv.key).toString()} c${kv.create_revision} m${kv.mod_revision} v${kv.version} ${kv.lease}`;
    const base = ranges[0].kvs.map(summary);
    ranges.forEach((range: any, i: number) => {
      const mine = range.kvs.map(summary);
      const diff = mine.filter((line: string) => !base.includes(line)).slice(0, 5);
      const missing = base.filter((line: string) => !mine.includes(line)).slice(0, 5);
      console.log(running[i]!.name, range.kvs.length, 'extra', diff, 'missing', missing);
    });
  }
  expect(answers.map((answer) => `${answer.hash}@${answer.header.revision}/${answer.compact_revision}`)).toEqual(answers.map(() => `${answers[0].hash}@${answers[0].header.revision}/${answers[0].compact_revision}`));
  expect(Number(answers[0].header.revision)).toBeGreaterThan(puts);
}

/** Adds a learner whose peer traffic from the others goes through a proxy; not launched yet. */
async function addLearner(c: TestCluster, via: MemberProcess, name: string): Promise<{ learner: MemberProcess; proxy: PeerProxy }> {
  const learner = await c.newMember(name);
  learner.advertisedPeerPort = await freePort();
  const proxy = await PeerProxy.start(learner.advertisedPeerPort, learner.peerPort);
  proxies.push(proxy);
  await call(c.client(via, 'Cluster'), 'MemberAdd', { peerURLs: [`http://127.0.0.1:${learner.advertisedPeerPort}`], isLearner: true });
  return { learner, proxy };
}

describe('streamed snapshots', () => {
  it('a learner catches up a 30 MB store by snapshot, through a link cut mid-transfer and a kill -9 mid-stream', async () => {
    cluster = await TestCluster.start(3, ['--snapshot-count=100', '--log-level=info']);
    const c = cluster;
    const leader = await c.waitForLeader();
    await load(c, leader);
    const { learner, proxy } = await addLearner(c, leader, 'm4');
    c.launch(learner, ['--initial-cluster-state=existing']);

    // The link cut mid-transfer: the receiver drops its half-staged copy; nothing is installed.
    await midTransfer(learner);
    proxy.block();
    await eventually('the cut transfer cleaned up', async () => {
      if (stagingDirs(learner).length > 0) throw new Error(`still staged: ${stagingDirs(learner).join(', ')}`);
    });
    expect(learner.output).not.toMatch(/installed snapshot from the leader/);
    proxy.unblock();

    // The receiver killed mid-stream: its leftover is removed at restart, and a fresh transfer follows.
    const leftover = await midTransfer(learner);
    await c.kill(learner);
    expect(stagingDirs(learner)).toEqual(expect.arrayContaining(leftover));
    c.launch(learner);
    await expectEqualStores(c);
    for (const name of leftover) expect(existsSync(join(learner.dataDir, 'member', name))).toBe(false);
    await installedSnapshot(learner);
    expect(stagingDirs(learner)).toEqual([]);
  }, 90_000);

  it('a leader killed mid-stream: the new leader streams a fresh snapshot, and the old one rejoins', async () => {
    cluster = await TestCluster.start(3, ['--snapshot-count=100', '--log-level=info']);
    const c = cluster;
    const leader = await c.waitForLeader();
    await load(c, leader);
    const via = c.members.find((member) => member !== leader) as MemberProcess;
    const { learner } = await addLearner(c, via, 'm4');
    c.launch(learner, ['--initial-cluster-state=existing']);

    await midTransfer(learner);
    await c.kill(leader);
    await c.waitForLeader();
    await expectEqualStores(c);
    await installedSnapshot(learner);
    c.launch(leader);
    await expectEqualStores(c);
  }, 90_000);

  it('a receiver killed mid-install, before or after the switch to the staged copy, restarts with the old store or the new one and catches up; a wiped, re-added follower catches up', async () => {
    const puts = 200; // a smaller store: this test is about the install, not the transfer
    cluster = await TestCluster.start(3, ['--snapshot-count=100', '--log-level=info']);
    const c = cluster;
    const leader = await c.waitForLeader();
    await load(c, leader, puts);
    const storeDir = (member: MemberProcess): string[] => readdirSync(join(member.dataDir, 'member')).filter((name) => name.startsWith('kv')).map((name) => name.replace(/db-.*/, 'db')).sort();
    for (const [name, step, left, settled] of [
      ['m4', 'loaded', ['kv', 'kv.db'], ['kv.current', 'kv.db']],
      ['m5', 'switched', ['kv', 'kv.current', 'kv.db'], ['kv.current', 'kv.db']],
    ] as const) {
      const { learner } = await addLearner(c, leader, name);
      const child = c.launch(learner, ['--initial-cluster-state=existing'], { RAFTKV_FAILPOINTS: JSON.stringify({ 'snapshot-install-crash-after': step }) });
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, killed) => resolve(killed)));
      learner.process = null;
      expect(signal).toBe('SIGKILL');
      expect(storeDir(learner)).toEqual(left);
      c.launch(learner);
      await expectEqualStores(c, 30_000, puts);
      // The replaced database is removed just after the install: wait for it rather than race it.
      await eventually('the old database removed', async () => expect(storeDir(learner)).toEqual(settled));
    }

    // A follower killed, its data dir wiped, removed and added back: it catches up by snapshot too.
    const follower = c.members.slice(0, 3).find((member) => member !== leader) as MemberProcess;
    const oldId = (await call(c.client(follower, 'Maintenance'), 'Status', {})).header.member_id;
    await c.kill(follower);
    rmSync(follower.dataDir, { recursive: true, force: true });
    await call(c.client(leader, 'Cluster'), 'MemberRemove', { ID: oldId });
    await call(c.client(leader, 'Cluster'), 'MemberAdd', { peerURLs: [c.peerUrl(follower)], isLearner: false });
    c.launch(follower, ['--initial-cluster-state=existing']);
    await expectEqualStores(c, 30_000, puts);
    await installedSnapshot(follower);
  }, 90_000);
});
