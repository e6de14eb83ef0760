// The npm `etcd3` client's Watch, Lease, Lock and Election helpers, unmodified, against a real
// three-member cluster: watch events with prev values, cancel, replay from a revision and from a
// compacted one; leases granted, attached, kept alive, revoked, released and lost; locks that
// never overlap; elections with one leader at a time; and, while the leader is killed and
// restarted, watchers that lose and duplicate nothing and a lease that stays alive.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ConstantBackoff, noop } from 'cockatiel';
import { Etcd3, EtcdError, EtcdLeaseInvalidError, EtcdLockFailedError, type Campaign, type IKeyValue, type IOptions, type WatchBuilder, type Watcher } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, TestCluster, type MemberProcess } from './harness.js';
import { settleWithin } from '../support/settle-within.js';

let cluster: TestCluster;
/** All three members as hosts, as an application would configure it. */
let client: Etcd3;
const opened: Etcd3[] = [];
const watchers: Watcher[] = [];

const ROOT = join(import.meta.dirname, '..', '..');
/** A separate client process: grants a lease, attaches a key, keeps the lease alive, says 'ready'. Args: hosts, key, TTL. */
const DYING_CLIENT = `
  const { Etcd3 } = require('etcd3');
  const [hosts, key, ttl] = process.argv.slice(1);
  const lease = new Etcd3({ hosts: hosts.split(',') }).lease(Number(ttl));
  lease.put(key).value('x').then(() => process.stdout.write('ready\\n'), (error) => { console.error(error); process.exit(1); });
`;

const url = (member: MemberProcess): string => `http://127.0.0.1:${member.clientPort}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * How long a test waits for something that must happen (an expiry, a lost lease) before calling it
 * a failure. Generous on purpose: the tests assert that it happens, and not before it may; how soon
 * after is the machine's business (a loaded one is several times slower).
 */
const HAPPENS_WITHIN_MS = 30_000;

/** Another client; `members` picks its hosts (all by default), so a test can pin a stream to one member. */
function connect(members: MemberProcess[] = cluster.members, options: Partial<IOptions> = {}): Etcd3 {
  const etcd = new Etcd3({ hosts: members.map(url), ...options });
  opened.push(etcd);
  return etcd;
}

/** Polls a local condition every 20 ms (the harness's eventually() polls servers every 200 ms). */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

interface Seen {
  type: 'put' | 'delete';
  key: string;
  value: string;
  prev: string | null;
  revision: number;
}

/** Records a watcher's 'put' and 'delete' events, in the order the client emits them. */
function record(watcher: Watcher): Seen[] {
  const seen: Seen[] = [];
  const push = (type: Seen['type']) => (kv: IKeyValue, prev?: IKeyValue): void => {
    // The client hands prev_kv over as null, not undefined, when the response has none.
    const previous = prev == null ? null : prev.value.toString();
    seen.push({ type, key: kv.key.toString(), value: kv.value.toString(), prev: previous, revision: Number(kv.mod_revision) });
  };
  watcher.on('put', push('put'));
  watcher.on('delete', push('delete'));
  return seen;
}

/**
 * WatchBuilder.create(), with the listeners on before the watcher connects. create() settles on the
 * created notice, but a replay's events can come in the same read from the socket, and the client
 * emits them before the caller's `await` resumes: listeners added after create() miss them, against
 * etcd as well. (etcd3's own ElectionObserver uses watcher() the same way.)
 */
async function open(builder: WatchBuilder): Promise<{ watcher: Watcher; seen: Seen[] }> {
  const watcher = builder.watcher();
  watchers.push(watcher);
  const seen = record(watcher);
  await new Promise((resolve, reject) => {
    watcher.once('connected', resolve);
    watcher.once('error', reject);
  });
  return { watcher, seen };
}

/** Cancels watchers from open() (and stops tracking them for afterAll). */
async function stop(...stopping: Watcher[]): Promise<void> {
  for (const watcher of stopping) watchers.splice(watchers.indexOf(watcher), 1);
  await Promise.all(stopping.map((watcher) => watcher.cancel()));
}

const revisionOf = (response: { header: { revision: string } }): number => Number(response.header.revision);

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  client = connect();
}, 60_000);

afterAll(async () => {
  // Watchers a failed test left open; a cancel the server never answers must not hold up the rest.
  await Promise.race([Promise.allSettled(watchers.map((watcher) => watcher.cancel())), sleep(2000)]);
  for (const etcd of opened) etcd.close();
  await cluster?.stop();
});

describe('etcd3 watch()', () => {
  it('delivers put, put, delete on one key in order, with values and withPreviousKV prev values; cancel() stops delivery', async () => {
    const { watcher, seen } = await open(client.watch().key('ew/k').withPreviousKV());
    // A second watcher on the same key stays open: it proves the writes after cancel() happened.
    const { watcher: controlWatcher, seen: control } = await open(client.watch().key('ew/k'));

    const r1 = revisionOf(await client.put('ew/k').value('one'));
    const r2 = revisionOf(await client.put('ew/k').value('two'));
    await client.put('ew/k0').value('not watched'); // a key with the watched key as prefix
    const r3 = revisionOf(await client.delete().key('ew/k'));
    await waitFor('three events', () => seen.length >= 3);
    expect(seen).toEqual([
      { type: 'put', key: 'ew/k', value: 'one', prev: null, revision: r1 },
      { type: 'put', key: 'ew/k', value: 'two', prev: 'one', revision: r2 },
      { type: 'delete', key: 'ew/k', value: '', prev: 'two', revision: r3 },
    ]);
    // prev_kv was asked for only by the first watcher.
    await waitFor('the control watcher saw three events', () => control.length >= 3);
    expect(control.map((event) => event.prev)).toEqual([null, null, null]);

    await stop(watcher);
    await client.put('ew/k').value('after cancel');
    await waitFor('the control watcher saw the write after cancel()', () => control.length === 4);
    await sleep(100);
    expect(seen).toHaveLength(3);
    await stop(controlWatcher);
  });

  it('a prefix watcher sees every key under the prefix and nothing beside it, deletes of a whole prefix included', async () => {
    const { watcher, seen } = await open(client.watch().prefix('ewp/').withPreviousKV());
    const ra = revisionOf(await client.put('ewp/a').value('1'));
    await client.put('ewp0').value('just past the prefix');
    await client.put('ewo').value('just before it');
    const rb = revisionOf(await client.put('ewp/b').value('2'));
    const ra2 = revisionOf(await client.put('ewp/a').value('3'));
    const rd = revisionOf(await client.delete().prefix('ewp/'));
    await waitFor('five events', () => seen.length >= 5);
    await sleep(50);
    expect(seen).toEqual([
      { type: 'put', key: 'ewp/a', value: '1', prev: null, revision: ra },
      { type: 'put', key: 'ewp/b', value: '2', prev: null, revision: rb },
      { type: 'put', key: 'ewp/a', value: '3', prev: '1', revision: ra2 },
      // One DeleteRange: both events at its revision, in key order.
      { type: 'delete', key: 'ewp/a', value: '', prev: '3', revision: rd },
      { type: 'delete', key: 'ewp/b', value: '', prev: '2', revision: rd },
    ]);
    await stop(watcher);
  });

  it('startRevision(r) replays the history from r, then continues live', async () => {
    const r1 = revisionOf(await client.put('ewh/a').value('1'));
    await client.put('ewh/a').value('2');
    await client.put('ewh/b').value('3');
    await client.delete().key('ewh/a');

    const { watcher: fromStart, seen: all } = await open(client.watch().prefix('ewh/').startRevision(String(r1)).withPreviousKV());
    const { watcher: fromLater, seen: tail } = await open(client.watch().prefix('ewh/').startRevision(String(r1 + 2)));
    await waitFor('the replay', () => all.length >= 4 && tail.length >= 2);
    const r5 = revisionOf(await client.put('ewh/b').value('4'));
    await waitFor('the live event', () => all.length >= 5 && tail.length >= 3);
    await sleep(50);
    expect(all.map((event) => [event.type, event.key, event.value, event.prev, event.revision])).toEqual([
      ['put', 'ewh/a', '1', null, r1],
      ['put', 'ewh/a', '2', '1', r1 + 1],
      ['put', 'ewh/b', '3', null, r1 + 2],
      ['delete', 'ewh/a', '', '2', r1 + 3],
      ['put', 'ewh/b', '4', '3', r5],
    ]);
    expect(tail.map((event) => `${event.type} ${event.key}@${event.revision}`)).toEqual([`put ewh/b@${r1 + 2}`, `delete ewh/a@${r1 + 3}`, `put ewh/b@${r5}`]);
    await stop(fromStart, fromLater);
  });

  it('a watcher from a compacted revision gets the client\'s "Watcher canceled" error; one from the compact revision replays', async () => {
    // One host for the compaction and the watches, so the member that answers the watch has
    // applied the compaction (another member may apply it a moment later).
    const single = connect([cluster.members[2]]);
    const old = revisionOf(await single.put('ewc/k').value('old'));
    const compactAt = revisionOf(await single.put('ewc/k').value('kept'));
    await single.kv.compact({ revision: compactAt });

    // create() settles on the created notice and the cancel follows it: listen before connecting.
    const watcher = single.watch().key('ewc/k').startRevision(String(old)).watcher();
    const seen = record(watcher);
    let connected = false;
    watcher.on('connected', () => (connected = true));
    const error = await new Promise<Error>((resolve) => watcher.on('error', resolve));
    expect(connected).toBe(true);
    // etcd3 ignores compact_revision and reports the cancel with its reason; etcd sends no reason
    // with a compaction cancel, and neither does raftkv, so the message ends after the colon.
    expect(error).toBeInstanceOf(EtcdError);
    expect(error.message).toBe('Watcher canceled: ');

    // What an application does next: watch again from the compact revision.
    const { watcher: replaying, seen: again } = await open(single.watch().key('ewc/k').startRevision(String(compactAt)).withPreviousKV());
    const later = revisionOf(await single.put('ewc/k').value('later'));
    await waitFor('the kept and the later event', () => again.length >= 2);
    expect(again).toEqual([
      { type: 'put', key: 'ewc/k', value: 'kept', prev: null, revision: compactAt }, // its prev value was compacted away
      { type: 'put', key: 'ewc/k', value: 'later', prev: 'kept', revision: later },
    ]);
    // The canceled watcher is gone for good: no history, and no later event either.
    expect(seen).toEqual([]);
    await stop(replaying);
  });
});

describe('etcd3 lease()', () => {
  it('grants, attaches a put, keeps alive once, reports TTL and keys, and revoke() deletes the key', async () => {
    const lease = client.lease(10);
    const id = await lease.grant();
    await lease.put('el/a').value('attached');
    const got = await client.get('el/a').exec();
    expect(got.kvs[0].value.toString()).toBe('attached');
    expect(got.kvs[0].lease).toBe(id);

    const renewed = await lease.keepaliveOnce();
    expect(renewed.ID).toBe(id);
    expect(renewed.TTL).toBe('10');

    // etcd3@1.1.2's Lease has no ttl() method; TimeToLive is on the client's leaseClient.
    const live = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(live.grantedTTL).toBe('10');
    // Counting down from the grant: how far depends on how long the calls took.
    expect(Number(live.TTL)).toBeGreaterThan(0);
    expect(Number(live.TTL)).toBeLessThanOrEqual(10);
    expect(live.keys.map((key) => key.toString())).toEqual(['el/a']);
    expect((await client.leaseClient.leaseLeases()).leases.map((lease) => lease.ID)).toContain(id);

    await lease.revoke();
    expect(lease.revoked()).toBe(true);
    expect(await client.get('el/a').string()).toBeNull();
    expect((await client.leaseClient.leaseTimeToLive({ ID: id })).TTL).toBe('-1');
    expect((await client.leaseClient.leaseLeases()).leases.map((lease) => lease.ID)).not.toContain(id);
    // The server answers a keep-alive of the revoked lease with TTL 0, which the client turns into this.
    await expect(lease.keepaliveOnce()).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
  });

  it('kept alive, a 2 s lease outlives its TTL; after release() or the client\'s death its key expires, and not before it may', async () => {
    const ttl = 2;
    const released = client.lease(ttl);
    await released.put('elx/released').value('x');
    // A client process that dies without revoking. (etcd3's close() would not do: it closes the
    // channels but leaves the open keep-alive stream running, so the lease lives on.)
    const hosts = cluster.members.map(url).join(',');
    const child = spawn(process.execPath, ['-e', DYING_CLIENT, hosts, 'elx/killed', String(ttl)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const goneAfter = new Map<string, number>();
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the client process exited early: ${code}`)));
      });

      // The clients' keep-alive loops (every TTL/3) hold both keys past the TTL.
      await sleep(ttl * 1000 + 500);
      expect(await client.getAll().prefix('elx/').keys()).toEqual(['elx/killed', 'elx/released']);

      const stoppedAt = Date.now();
      released.release();
      child.kill('SIGKILL');
      await exited;
      // Poll every 50 ms, noting when each key is first seen gone; a key still there after a generous wait never expired.
      while (goneAfter.size < 2 && Date.now() < stoppedAt + HAPPENS_WITHIN_MS) {
        const present = new Set(await client.getAll().prefix('elx/').keys());
        for (const key of ['elx/released', 'elx/killed']) if (!present.has(key) && !goneAfter.has(key)) goneAfter.set(key, Date.now() - stoppedAt);
        await sleep(50);
      }
    } finally {
      child.kill('SIGKILL');
    }
    expect([...goneAfter.keys()].sort()).toEqual(['elx/killed', 'elx/released']);
    for (const after of goneAfter.values()) {
      // The last keep-alive was at most TTL/3 before the stop: neither way revokes the lease.
      expect(after).toBeGreaterThanOrEqual(1000);
    }
  });

  it('emits \'lost\' with EtcdLeaseInvalidError when the lease is revoked on the server behind its back', async () => {
    const lease = client.lease(3);
    const id = await lease.grant();
    await lease.put('ell/k').value('v');
    const lost = new Promise<Error>((resolve) => lease.on('lost', resolve));
    await client.leaseClient.leaseRevoke({ ID: id });
    expect(await client.get('ell/k').string()).toBeNull();
    // The next keep-alive (every TTL/3 = 1 s) is answered with TTL 0.
    expect(await settleWithin(lost, HAPPENS_WITHIN_MS)).toBeInstanceOf(EtcdLeaseInvalidError);
    expect(lease.revoked()).toBe(true);
    // A put under the revoked lease is refused with the error the client recognises.
    await expect(lease.put('ell/k').value('again')).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
    expect(await client.get('ell/k').string()).toBeNull();
  });
});

describe('etcd3 lock()', () => {
  it('two lockers of one name on different clients never hold it at once', async () => {
    const clients = [connect([cluster.members[0], cluster.members[1]]), connect([cluster.members[1], cluster.members[2]])];
    const intervals: Array<{ who: number; start: number; end: number }> = [];
    let holder: number | null = null;
    let overlaps = 0;
    let refusals = 0;
    const rounds = 4;
    await Promise.all(
      clients.map(async (etcd, who) => {
        for (let done = 0; done < rounds; ) {
          try {
            await etcd.lock('elk/one').ttl(5).do(async () => {
              const start = performance.now();
              if (holder !== null) overlaps++;
              holder = who;
              await sleep(40);
              if (holder !== who) overlaps++;
              holder = null;
              intervals.push({ who, start, end: performance.now() });
            });
            done++;
          } catch (error) {
            // etcd3's lock does not queue: a held lock fails fast and the caller retries.
            if (!(error instanceof EtcdLockFailedError)) throw error;
            refusals++;
            await sleep(5 + Math.random() * 20);
          }
        }
      }),
    );
    expect(overlaps).toBe(0);
    expect(intervals).toHaveLength(2 * rounds);
    intervals.sort((a, b) => a.start - b.start);
    for (let i = 1; i < intervals.length; i++) expect(intervals[i].start).toBeGreaterThanOrEqual(intervals[i - 1].end);
    // Both tried at once at least once, or the test showed nothing.
    expect(refusals).toBeGreaterThan(0);
    expect(await client.get('elk/one').string()).toBeNull(); // do() released it
  });

  it('acquire() fails while another holds the lock, and succeeds once the holder\'s lease is revoked', async () => {
    const first = connect().lock('elk/two');
    const second = connect().lock('elk/two');
    await first.acquire();
    await expect(second.acquire()).rejects.toBeInstanceOf(EtcdLockFailedError);

    // release() is one way; the other is the lease going away (expiry or revocation).
    await client.leaseClient.leaseRevoke({ ID: (await first.leaseId())! });
    await second.acquire();
    const key = await client.get('elk/two').exec();
    expect(key.kvs[0].lease).toBe(await second.leaseId());

    await second.release();
    const third = connect().lock('elk/two');
    await third.acquire();
    await third.release();
    await first.release(); // its lease is already gone: the client ignores the not-found
  });
});

describe('etcd3 election()', () => {
  /** Resolves when the campaign has found an earlier candidate and waits for its key's deletion. */
  const parked = (campaign: Campaign): Promise<void> => new Promise((resolve) => campaign.once('_isWaiting' as 'elected', () => resolve()));

  it('one leader at a time: the second candidate waits; observe(), started before any candidate, follows both leaders', async () => {
    const leaders = new Set<string>();
    const elections: string[] = [];
    let overlaps = 0;
    const campaign = (etcd: Etcd3, value: string): Campaign => {
      const c = etcd.election('ele/one', 5).campaign(value);
      c.on('elected', () => {
        if (leaders.size > 0) overlaps++;
        leaders.add(value);
        elections.push(value);
      });
      c.on('error', () => {});
      return c;
    };
    // With no leader yet, the observer watches the election's prefix for puts only (a filtered watch).
    const observer = await connect().election('ele/one').observe();
    expect(observer.leader()).toBeUndefined();
    const changes: Array<string | undefined> = [];
    observer.on('change', (value) => changes.push(value));

    const alpha = campaign(connect(), 'alpha');
    await alpha.wait();
    const beta = campaign(connect(), 'beta');
    const betaElected = beta.wait();
    await parked(beta);
    await sleep(200);
    expect(elections).toEqual(['alpha']);
    await waitFor('the observer saw alpha', () => changes.length > 0);
    expect(observer.leader()).toBe('alpha');

    leaders.delete('alpha');
    await alpha.resign();
    await betaElected;
    await waitFor('the observer saw beta', () => changes.includes('beta'));
    expect(changes).toEqual(['alpha', 'beta']); // never two leaders, never none in between
    expect(observer.leader()).toBe('beta');
    expect(await client.election('ele/one').leader()).toBe('beta');
    expect(elections).toEqual(['alpha', 'beta']);
    expect(overlaps).toBe(0);
    await observer.cancel();
    await beta.resign();
    expect(await client.election('ele/one').leader()).toBeUndefined();
  });

  it('when the leader\'s lease is revoked, the waiting candidate wins and the old leader\'s campaign reports the loss', async () => {
    const first = connect().election('ele/two', 3).campaign('first');
    const firstError = new Promise<Error>((resolve) => first.on('error', resolve));
    await first.wait();
    const second = connect().election('ele/two', 3).campaign('second');
    second.on('error', () => {});
    const secondElected = second.wait();
    await parked(second);
    const observer = await connect().election('ele/two').observe();
    expect(observer.leader()).toBe('first');
    const changes: Array<string | undefined> = [];
    observer.on('change', (value) => changes.push(value));

    // The campaign key is the election prefix and the lease id.
    const leaseId = (await first.getCampaignKey()).split('/').pop()!;
    await client.leaseClient.leaseRevoke({ ID: leaseId });
    await secondElected;
    expect(await client.election('ele/two').leader()).toBe('second');
    await waitFor('the observer saw second', () => observer.leader() === 'second');
    expect(changes).toContain('second');
    // first's keep-alive (every 1 s) is answered with TTL 0.
    expect(await settleWithin(firstError, HAPPENS_WITHIN_MS)).toBeInstanceOf(EtcdLeaseInvalidError);
    await observer.cancel();
    await second.resign();
  });
});

describe('etcd3 across a leader change', () => {
  it('no watch event lost or duplicated while the leader is killed and restarted: a survivor\'s stream stays up, the killed one\'s resumes', async () => {
    const leader = await cluster.waitForLeader();
    const survivors = cluster.members.filter((member) => member !== leader);
    // Pinned to a member that survives: its stream should not even notice.
    const { watcher, seen } = await open(connect([survivors[0]]).watch().prefix('efo/').withPreviousKV());
    let disconnects = 0;
    watcher.on('disconnected', () => disconnects++);
    // Pinned to the member about to die: the client reconnects (every 100 ms) and resumes after the
    // last revision it saw, once the member is back.
    const onLeader = connect([leader], { faultHandling: { watchBackoff: new ConstantBackoff(100).next() } });
    const { watcher: orphan, seen: resumed } = await open(onLeader.watch().prefix('efo/'));
    let orphanDisconnects = 0;
    orphan.on('disconnected', () => orphanDisconnects++);
    // A lease kept alive by the client through the failover, on the survivors.
    const lease = connect(survivors).lease(3);
    let leaseLost = false;
    lease.on('lost', () => (leaseLost = true));
    await lease.put('efl/held').value('x');

    // No client-side retries: a retried put whose first attempt committed would be written twice,
    // which would be the client's duplicate, not the watch's.
    const noRetry: Partial<IOptions> = { faultHandling: { global: noop } };
    let writer = connect(survivors, noRetry);
    const acked: Array<{ value: string; revision: number }> = [];
    let attempts = 0;
    const write = async (): Promise<void> => {
      const value = String(attempts++);
      try {
        const response = await writer.put('efo/k').value(value).options({ deadline: Date.now() + 2000 });
        acked.push({ value, revision: revisionOf(response) });
      } catch {
        // Unknown outcome: it may or may not have committed.
      }
    };
    const writeMany = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) await write();
    };

    await writeMany(10); // before
    expect(acked).toHaveLength(10);
    await waitFor('both watchers saw the writes before the kill', () => seen.length === 10 && resumed.length === 10);
    await cluster.kill(leader);
    let elected = false;
    const election = cluster.waitForLeader().then(() => (elected = true));
    const duringStart = attempts;
    while (!elected || attempts - duringStart < 5) {
      await write(); // during
      await sleep(20);
    }
    await election;
    await writeMany(10); // after, with the old leader down
    cluster.launch(leader);
    await cluster.waitForLeader();
    writer = connect([leader], noRetry);
    await eventually('the restarted member takes writes', async () => {
      const before = acked.length;
      await write();
      if (acked.length === before) throw new Error('not yet');
    });
    await writeMany(10); // after, through the restarted member

    // Compare everything up to where the store is now: at or past the last acknowledged write, and
    // possibly past it, since a write whose client timed out may still land later (etcd promises
    // nothing about those either).
    const current = (await client.get('efo/k').exec()).kvs[0];
    const upTo = Number(current.mod_revision);
    expect(upTo).toBeGreaterThanOrEqual(acked[acked.length - 1].revision);
    const reached = (events: Seen[]): boolean => events.some((event) => event.revision >= upTo);
    await waitFor('both watchers reached the store\'s revision', () => reached(seen) && reached(resumed), 10_000);
    const upToNow = (events: Seen[]): Seen[] => events.filter((event) => event.revision <= upTo);
    const live = upToNow(seen);

    // In revision order, each event's prev value is the previous event's value: nothing in between is missing.
    for (let i = 1; i < live.length; i++) {
      expect(live[i].revision).toBeGreaterThan(live[i - 1].revision);
      expect(live[i].prev).toBe(live[i - 1].value);
    }
    expect(live[0].prev).toBeNull();
    expect(live[live.length - 1]).toMatchObject({ value: current.value.toString(), revision: upTo });
    // Every acknowledged write arrived exactly once, at its revision; no value arrived twice.
    const byValue = new Map<string, number[]>();
    for (const event of live) byValue.set(event.value, [...(byValue.get(event.value) ?? []), event.revision]);
    for (const { value, revision } of acked) expect(byValue.get(value), `write ${value}`).toEqual([revision]);
    expect([...byValue.values()].filter((revisions) => revisions.length > 1)).toEqual([]);
    expect(live.every((event) => Number(event.value) < attempts)).toBe(true);
    expect(disconnects).toBe(0); // etcd does not end a follower's watch streams on a leader change

    // The resumed watcher saw the same events, none twice, none missing across its reconnection.
    const show = (events: Seen[]): string[] => events.map((event) => `${event.value}@${event.revision}`);
    expect(orphanDisconnects).toBeGreaterThan(0);
    expect(show(upToNow(resumed))).toEqual(show(live));

    // The live streams equal the history as the restarted member replays it.
    const { watcher: replaying, seen: replay } = await open(connect([leader]).watch().prefix('efo/').startRevision(String(live[0].revision)));
    await waitFor('the replay', () => reached(replay));
    expect(show(upToNow(replay))).toEqual(show(live));

    // A new leader starts leases afresh: the kept-alive key outlived the failover.
    expect(leaseLost).toBe(false);
    expect(await client.get('efl/held').string()).toBe('x');
    await stop(watcher, orphan, replaying);
    await lease.revoke();
  });
});
