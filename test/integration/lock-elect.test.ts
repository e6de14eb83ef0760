// etcdctl's distributed lock and leader election against a three-member raftkv cluster. Both are
// client-side recipes (clientv3/concurrency) over KV, Watch and Lease: a session lease kept alive
// by the etcdctl process, a key per contender under the name's prefix, and "the lowest create
// revision holds it". So this exercises Put with a lease, revision-ordered ranges, watches on
// deletes, keep-alives, and the deletion of a session's keys when its lease ends.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../support/external.js';
import { call, eventually, TestCluster, type MemberProcess } from './harness.js';
import { prefixEnd } from './watch-client.js';

/** How long the waiter may take to get the lock before it counts as never: generous, since only "not before the expiry" is asserted. */
const EXPIRY_WAIT_MS = 30_000;
const SORT_ASCEND = 1;
const SORT_BY_CREATE = 2;

const bytes = (text: string): Buffer => Buffer.from(text);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A running etcdctl: its output so far, and its exit. */
class Etcdctl {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the match once stdout matches `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return eventually(`etcdctl printing ${pattern}`, async () => {
      const match = pattern.exec(this.stdout);
      if (match === null) throw new Error(`stdout ${JSON.stringify(this.stdout)}, stderr ${JSON.stringify(this.stderr)}`);
      return match;
    }, timeoutMs);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

describeWithBinaries(['etcdctl'], 'etcdctl lock and elect', ({ etcdctl: etcdctlPath }) => {
  let cluster: TestCluster;
  let m1: MemberProcess;
  let m2: MemberProcess;
  let m3: MemberProcess;
  let dir: string;
  const started: Etcdctl[] = [];

  const etcdctl = (member: MemberProcess, args: string[]): Etcdctl => {
    const child = spawn(etcdctlPath, [`--endpoints=127.0.0.1:${member.clientPort}`, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const running = new Etcdctl(child);
    started.push(running);
    return running;
  };
  /** The keys under `prefix`, oldest (lowest create revision) first. */
  const keysUnder = async (prefix: string): Promise<any[]> =>
    (await call(cluster.client(m1), 'Range', {
      key: bytes(prefix),
      range_end: bytes(prefixEnd(prefix)),
      sort_order: SORT_ASCEND,
      sort_target: SORT_BY_CREATE,
    })).kvs;

  beforeAll(async () => {
    cluster = await TestCluster.start(3);
    [m1, m2, m3] = cluster.members;
    dir = mkdtempSync(join(tmpdir(), 'raftkv-lock-'));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(started.filter((running) => running.running).map((running) => {
      running.child.kill('SIGKILL');
      return running.exited;
    }));
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('etcdctl lock: of two contenders on different members, never both are inside; the second enters only after the first leaves', async () => {
    const pairs: Array<[MemberProcess, MemberProcess]> = [[m1, m2], [m2, m3], [m3, m1]];
    for (const [round, [a, b]] of pairs.entries()) {
      const log = join(dir, `lock-round-${round}.log`);
      // Long enough inside that two unexcluded contenders, started together, would overlap.
      const body = (who: string): string => `echo "enter ${who} $(date +%s%N)" >> ${log}; sleep 0.4; echo "exit ${who} $(date +%s%N)" >> ${log}`;
      const first = etcdctl(a, ['lock', 'mutex', '--', 'sh', '-c', body('A')]);
      const second = etcdctl(b, ['lock', 'mutex', '--', 'sh', '-c', body('B')]);
      const outcomes = await Promise.all([first.exited, second.exited]);
      expect(outcomes, `${first.stderr}${second.stderr}`).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);

      const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' '));
      expect(lines.map(([kind]) => kind)).toEqual(['enter', 'exit', 'enter', 'exit']);
      const [enter1, exit1, enter2, exit2] = lines;
      expect(exit1[1]).toBe(enter1[1]);
      expect(exit2[1]).toBe(enter2[1]);
      expect(enter2[1]).not.toBe(enter1[1]);
      expect(BigInt(enter2[2])).toBeGreaterThanOrEqual(BigInt(exit1[2]));
    }
    // Each etcdctl released the lock and closed its session (revoking its lease) as it exited.
    expect(await keysUnder('mutex/')).toEqual([]);
  });

  it('etcdctl lock --ttl 2: a holder killed with -9 keeps the lock until its session lease expires, then the waiter gets it', async () => {
    const TTL = 2;
    // Without a command, etcdctl lock prints the lock's key once it holds it, and holds it until killed.
    const holder = etcdctl(m1, ['lock', `--ttl=${TTL}`, 'crashlock']);
    const [holderKey] = await holder.waitForOutput(/^crashlock\/[0-9a-f]+$/m);
    const waiter = etcdctl(m2, ['lock', `--ttl=${TTL}`, 'crashlock']);
    await eventually('the waiter queueing for the lock', async () => expect(await keysUnder('crashlock/')).toHaveLength(2), 5000);
    expect(waiter.stdout).toBe('');
    const holderLease = Number((await keysUnder('crashlock/'))[0].lease);
    expect((await keysUnder('crashlock/'))[0].key.toString()).toBe(holderKey);

    holder.child.kill('SIGKILL');
    const killedAt = Date.now();
    const [waiterKey] = await waiter.waitForOutput(/^crashlock\/[0-9a-f]+$/m, EXPIRY_WAIT_MS);
    const after = Date.now() - killedAt;
    expect(waiterKey).not.toBe(holderKey);
    // The session's last keep-alive was at most TTL/3 + 0.5 s (etcd's client keep-alive loop) before
    // the kill, so the lease had at least ~0.8 s left: a lock freed sooner was not freed by expiry.
    expect(after).toBeGreaterThanOrEqual(500);
    expect(Number((await call(cluster.client(m3, 'Lease'), 'LeaseTimeToLive', { ID: holderLease })).TTL)).toBe(-1);
    expect((await keysUnder('crashlock/')).map((kv: any) => kv.key.toString())).toEqual([waiterKey]);
  });

  it('etcdctl elect: p1 leads and an observer sees it; after p1 is killed -9 and its session lease ends, the waiting p2 leads', async () => {
    const p1 = etcdctl(m1, ['elect', 'myelection', 'p1']);
    const [, p1Key] = await p1.waitForOutput(/^(myelection\/[0-9a-f]+)\np1$/m);
    const observer = etcdctl(m2, ['elect', '-l', 'myelection']);
    await observer.waitForOutput(new RegExp(`^${p1Key}\\np1$`, 'm'));
    const p2 = etcdctl(m3, ['elect', 'myelection', 'p2']);
    await eventually('p2 campaigning', async () => expect(await keysUnder('myelection/')).toHaveLength(2), 5000);
    expect(p2.stdout).toBe('');

    // The holder's key is named for its session lease (clientv3/concurrency: prefix + lease in hex).
    const [holder] = await keysUnder('myelection/');
    expect(holder.key.toString()).toBe(p1Key);
    expect(holder.value.toString()).toBe('p1');
    const holderLease = Number(holder.lease);
    expect(p1Key).toBe(`myelection/${holderLease.toString(16)}`);
    // etcdctl elect has no --ttl: its session lease has the client's default TTL, 60 s.
    expect(Number((await call(cluster.client(m2, 'Lease'), 'LeaseTimeToLive', { ID: holderLease })).grantedTTL)).toBe(60);

    p1.child.kill('SIGKILL');
    await p1.exited;
    // A dead client's lease outlives its connection: p1 still leads while its lease lives.
    await sleep(1000);
    expect(p2.stdout).toBe('');
    expect((await keysUnder('myelection/'))[0].key.toString()).toBe(p1Key);

    // Waiting out the 60 s TTL is too slow for this suite; revoking the lease is what its expiry
    // does (one revocation deleting the session's keys), and p2 must notice it just the same.
    await call(cluster.client(m3, 'Lease'), 'LeaseRevoke', { ID: holderLease });
    const [, p2Key] = await p2.waitForOutput(/^(myelection\/[0-9a-f]+)\np2$/m, 5000);
    expect(p2Key).not.toBe(p1Key);
    await observer.waitForOutput(new RegExp(`^${p2Key}\\np2$`, 'm'), 5000);
    expect((await keysUnder('myelection/')).map((kv: any) => kv.value.toString())).toEqual(['p2']);
  });
});
