// etcd's Lease service against a real three-member cluster, over gRPC: grants (chosen and picked
// IDs, the minimum and maximum TTL), keys attached by Put, time-to-live and the lease list on every
// member, revocation (all attached keys deleted in one revision), keep-alives through a follower,
// expiry once keep-alives stop, a leader failover while a lease is kept alive (and the killed
// member rebuilding its leases from a snapshot), and a "require leader" keep-alive stream on a
// member that lost its quorum.
//
// The cluster runs with etcd's default timings (heartbeat 100 ms, election timeout 1000 ms), so the
// minimum TTL is etcd's: ceil(1.5 × 1 s) = 2 s. Tests run in order and share the cluster; the last
// one leaves a single member alive.

import { Metadata, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, TestCluster, type MemberProcess } from './harness.js';
import { prefixEnd, WatchSession } from './watch-client.js';
import { settleWithin } from '../support/settle-within.js';

const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
const MIN_TTL = Math.ceil((1.5 * ELECTION_MS) / 1000);
/** How often the leader looks for expired leases (member.ts LEASE_CHECK_INTERVAL_MS). */
const CHECK_MS = 500;
/** For proposing, committing and applying the revocation and delivering the watch events. */
const MARGIN_MS = 500;
/**
 * How long a test waits for something that must happen (an expiry, a stream ending) before it
 * calls it a failure. Generous on purpose: these tests assert that it happens, and not before it
 * may; how soon after is the machine's business (a loaded one is several times slower).
 */
const HAPPENS_WITHIN_MS = 30_000;

const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;
const OUT_OF_RANGE = 11;
const UNAVAILABLE = 14;
const DELETE = 1;

const bytes = (text: string): Buffer => Buffer.from(text);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface KeepAliveAnswer {
  ID: number;
  TTL: number;
  /** Date.now() when the keep-alive was written and when its answer arrived. */
  sentAt: number;
  at: number;
}

/** One LeaseKeepAlive stream: every renew() writes a keep-alive and waits for its answer. */
class KeepAliveStream {
  readonly answers: KeepAliveAnswer[] = [];
  /** The stream's final status (null: it ended cleanly). */
  readonly ended: Promise<ServiceError | null>;
  private readonly stream: ClientDuplexStream<any, any>;
  private readonly waiters: Array<() => void> = [];
  private sentAt: number[] = [];
  private endedWith: ServiceError | null | undefined;

  constructor(client: Client, metadata: Metadata = new Metadata()) {
    this.stream = (client as unknown as { LeaseKeepAlive(metadata: Metadata): ClientDuplexStream<any, any> }).LeaseKeepAlive(metadata);
    this.stream.on('data', (response: any) => {
      this.answers.push({ ID: Number(response.ID), TTL: Number(response.TTL), sentAt: this.sentAt[this.answers.length] ?? 0, at: Date.now() });
      this.wake();
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('error', (error: ServiceError) => resolve(error));
      this.stream.on('end', () => resolve(null));
    });
    void this.ended.then((error) => {
      this.endedWith = error;
      this.wake();
    });
  }

  /** Sends one keep-alive for `id`; resolves with its answer, rejects when the stream ends first. */
  async renew(id: number, timeoutMs = 5000): Promise<KeepAliveAnswer> {
    const index = this.sentAt.length;
    this.sentAt.push(Date.now());
    this.stream.write({ ID: id });
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length <= index) {
      if (this.endedWith !== undefined) throw this.endedWith ?? new Error('keep-alive stream ended without an answer');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no keep-alive answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.answers[index];
  }

  close(): void {
    this.stream.cancel();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/**
 * Keeps a lease alive through one member as etcd's client lessor does: a keep-alive every
 * `everyMs`, and a stream that fails is reopened (after 200 ms). Every answer and every stream
 * failure is recorded.
 */
class Keeper {
  readonly answers: KeepAliveAnswer[] = [];
  readonly failures: Array<{ at: number; error: unknown }> = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: Client,
    private readonly id: number,
    everyMs: number,
  ) {
    this.done = this.run(everyMs);
  }

  private async run(everyMs: number): Promise<void> {
    while (this.running) {
      const stream = new KeepAliveStream(this.client);
      try {
        while (this.running) {
          this.answers.push(await stream.renew(this.id, 3000));
          await sleep(everyMs);
        }
      } catch (error) {
        this.failures.push({ at: Date.now(), error });
        await sleep(200);
      } finally {
        stream.close();
      }
    }
  }

  /** Waits for the first answer. */
  async started(timeoutMs = 5000): Promise<KeepAliveAnswer> {
    await eventually('a first keep-alive answer', async () => {
      if (this.answers.length === 0) throw new Error('none yet');
    }, timeoutMs);
    return this.answers[0];
  }

  /** Stops sending; resolves with the last answer. */
  async stop(): Promise<KeepAliveAnswer> {
    this.running = false;
    await this.done;
    return this.answers[this.answers.length - 1];
  }
}

describe('Lease', () => {
  let cluster: TestCluster;
  let m1: MemberProcess;
  let m2: MemberProcess;
  let m3: MemberProcess;
  const streams: Array<{ close(): void }> = [];

  const lease = (member: MemberProcess, method: string, request: object = {}): Promise<any> => call(cluster.client(member, 'Lease'), method, request);
  const kv = (member: MemberProcess, method: string, request: object): Promise<any> => call(cluster.client(member, 'KV'), method, request);
  const put = (member: MemberProcess, key: string, leaseId = 0): Promise<any> =>
    kv(member, 'Put', { key: bytes(key), value: bytes(`v-${key}`), lease: leaseId });
  /** The member's own view of the keys under `prefix` (serializable: no trip to the leader). */
  const localKeys = async (member: MemberProcess, prefix: string): Promise<string[]> =>
    (await kv(member, 'Range', { key: bytes(prefix), range_end: bytes(prefixEnd(prefix)), serializable: true })).kvs.map((entry: any) => entry.key.toString());
  const leaseIds = async (member: MemberProcess): Promise<number[]> => (await lease(member, 'LeaseLeases')).leases.map((status: any) => Number(status.ID));
  const followers = async (): Promise<MemberProcess[]> => {
    const leader = await cluster.waitForLeader();
    return cluster.members.filter((member) => member !== leader && member.process !== null);
  };
  const keepAliveStream = (member: MemberProcess, metadata?: Metadata): KeepAliveStream => {
    const stream = new KeepAliveStream(cluster.client(member, 'Lease'), metadata);
    streams.push(stream);
    return stream;
  };
  const watch = (member: MemberProcess): WatchSession => {
    const session = new WatchSession(cluster.client(member, 'Watch'));
    streams.push(session);
    return session;
  };
  /** Every member's own view of `prefix` is empty, and no member lists `id` any more. */
  const goneEverywhere = async (prefix: string, id: number): Promise<void> => {
    for (const member of cluster.members.filter((m) => m.process !== null)) {
      await eventually(`${member.name} dropping lease ${id} and its keys`, async () => {
        expect(await localKeys(member, prefix)).toEqual([]);
        expect(await leaseIds(member)).not.toContain(id);
      }, 5000);
    }
  };

  beforeAll(async () => {
    // Info logs tell whether a member installed a snapshot; a small snapshot count makes one likely.
    const timings = [`--heartbeat-interval=${HEARTBEAT_MS}`, `--election-timeout=${ELECTION_MS}`];
    cluster = await TestCluster.start(3, [...timings, '--snapshot-count=10', '--log-level=info']);
    [m1, m2, m3] = cluster.members;
  }, 30_000);

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await cluster?.stop();
  });

  it('LeaseGrant with ID 0 picks a positive ID; a chosen ID is used; granting it again fails with "lease already exists"', async () => {
    const picked = await lease(m1, 'LeaseGrant', { TTL: 60, ID: 0 });
    expect(Number(picked.ID)).toBeGreaterThan(0);
    expect(Number(picked.TTL)).toBe(60);
    expect(picked.error).toBe('');
    const another = await lease(m2, 'LeaseGrant', { TTL: 60, ID: 0 });
    expect(Number(another.ID)).toBeGreaterThan(0);
    expect(Number(another.ID)).not.toBe(Number(picked.ID));

    const chosen = 0x1ea5e0001;
    const granted = await lease(m2, 'LeaseGrant', { TTL: 60, ID: chosen });
    expect(Number(granted.ID)).toBe(chosen);
    expect(Number(granted.TTL)).toBe(60);
    // Through another member, so the refusal comes from the replicated state, not a local cache.
    await expect(lease(m3, 'LeaseGrant', { TTL: 30, ID: chosen })).rejects.toMatchObject({
      code: FAILED_PRECONDITION,
      details: 'etcdserver: lease already exists',
    });
    // The refused grant changed nothing: the lease keeps its first TTL.
    expect(await lease(m1, 'LeaseTimeToLive', { ID: chosen })).toMatchObject({ grantedTTL: 60 });

    for (const id of [Number(picked.ID), Number(another.ID), chosen]) await lease(m1, 'LeaseRevoke', { ID: id });
  });

  it(`LeaseGrant raises a TTL below the minimum to ceil(1.5 × election timeout) = ${MIN_TTL} s`, async () => {
    for (const ttl of [1, 0]) {
      const granted = await lease(m3, 'LeaseGrant', { TTL: ttl });
      expect(Number(granted.TTL)).toBe(MIN_TTL);
      const status = await lease(m1, 'LeaseTimeToLive', { ID: granted.ID });
      expect(Number(status.grantedTTL)).toBe(MIN_TTL);
      await lease(m3, 'LeaseRevoke', { ID: granted.ID });
    }
  });

  it('LeaseGrant refuses a TTL above 9e9 s with OUT_OF_RANGE "too large lease TTL", and accepts 9e9 itself', async () => {
    await expect(lease(m2, 'LeaseGrant', { TTL: 9_000_000_001 })).rejects.toMatchObject({ code: OUT_OF_RANGE, details: 'etcdserver: too large lease TTL' });
    const largest = await lease(m2, 'LeaseGrant', { TTL: 9_000_000_000 });
    expect(Number(largest.TTL)).toBe(9_000_000_000);
    await lease(m2, 'LeaseRevoke', { ID: largest.ID });
  });

  it('Put with a lease attaches the key; LeaseTimeToLive on a follower and the leader gives TTL, grantedTTL, keys; LeaseLeases lists it everywhere', async () => {
    const leader = await cluster.waitForLeader();
    const [follower, other] = await followers();
    const id = Number((await lease(follower, 'LeaseGrant', { TTL: 60 })).ID);
    await put(other, '/ttl/b', id);
    await put(leader, '/ttl/a', id);
    await put(follower, '/ttl/plain');
    const attached = (await kv(other, 'Range', { key: bytes('/ttl/a') })).kvs[0];
    expect(Number(attached.lease)).toBe(id);

    for (const member of [follower, leader]) {
      const status = await lease(member, 'LeaseTimeToLive', { ID: id, keys: true });
      expect(Number(status.ID)).toBe(id);
      expect(Number(status.grantedTTL)).toBe(60);
      // The remaining TTL counts down from the grant (on the leader's clock), never beyond it; how
      // far it has counted depends on how long the calls took.
      expect(Number(status.TTL)).toBeLessThanOrEqual(60);
      expect(Number(status.TTL)).toBeGreaterThan(0);
      expect(status.keys.map((key: Buffer) => key.toString()).sort()).toEqual(['/ttl/a', '/ttl/b']);
      // Keys only when asked for.
      expect((await lease(member, 'LeaseTimeToLive', { ID: id })).keys).toEqual([]);
    }

    // etcd answers an unknown lease with TTL -1 (not an error), echoing the ID.
    const unknown = await lease(follower, 'LeaseTimeToLive', { ID: 0x5eed, keys: true });
    expect(Number(unknown.TTL)).toBe(-1);
    expect(Number(unknown.ID)).toBe(0x5eed);
    expect(unknown.keys).toEqual([]);

    for (const member of cluster.members) {
      await eventually(`${member.name} listing lease ${id}`, async () => expect(await leaseIds(member)).toContain(id), 5000);
    }
    await lease(leader, 'LeaseRevoke', { ID: id });
  });

  // etcd truncates the remaining TTL (int64(lease.Remaining().Seconds())): right after a 60 s grant
  // `etcdctl lease timetolive` prints "remaining(59s)".
  it('LeaseTimeToLive rounds the remaining TTL down as etcd does: below 60 right after a 60 s grant', async () => {
    const id = Number((await lease(m1, 'LeaseGrant', { TTL: 60 })).ID);
    const status = await lease(m1, 'LeaseTimeToLive', { ID: id });
    await lease(m1, 'LeaseRevoke', { ID: id });
    expect(Number(status.grantedTTL)).toBe(60);
    // Below 60 is the rounding; above 0, whatever the two calls took.
    expect(Number(status.TTL)).toBeGreaterThan(0);
    expect(Number(status.TTL)).toBeLessThan(60);
  });

  it('LeaseRevoke deletes every attached key in one revision on every member; revoking again or putting with it is NOT_FOUND', async () => {
    const [follower, other] = await followers();
    const id = Number((await lease(other, 'LeaseGrant', { TTL: 60 })).ID);
    for (const key of ['/rv/a', '/rv/b', '/rv/c', '/rv/detached', '/rv/deleted']) await put(m1, key, id);
    // A key put again without the lease leaves it, and a deleted key is no longer the lease's:
    // the revocation must delete neither.
    await put(m2, '/rv/detached');
    await kv(m3, 'DeleteRange', { key: bytes('/rv/deleted') });
    const status = await lease(follower, 'LeaseTimeToLive', { ID: id, keys: true });
    expect(status.keys.map((key: Buffer) => key.toString()).sort()).toEqual(['/rv/a', '/rv/b', '/rv/c']);

    const session = watch(other);
    const before = Number((await kv(follower, 'Range', { key: bytes('/rv/a') })).header.revision);
    const watchId = await session.create({ key: '/rv/', rangeEnd: prefixEnd('/rv/'), startRevision: before + 1, prevKv: true });

    const revoked = await lease(follower, 'LeaseRevoke', { ID: id });
    const revision = Number(revoked.header.revision);
    expect(revision).toBe(before + 1);

    const events = await session.waitForEvents(watchId, 3);
    expect(events.map((event) => [event.type, event.key, event.revision, event.prevKv?.lease])).toEqual([
      ['delete', '/rv/a', revision, id],
      ['delete', '/rv/b', revision, id],
      ['delete', '/rv/c', revision, id],
    ]);
    // One revision's events come in one response.
    const deletes = session.responses.filter((response) => (response.events ?? []).length > 0);
    expect(deletes).toHaveLength(1);
    expect(deletes[0].events.every((event: any) => event.type === DELETE)).toBe(true);

    for (const member of cluster.members) {
      await eventually(`${member.name} applying the revocation`, async () => expect(await localKeys(member, '/rv/')).toEqual(['/rv/detached']), 5000);
      expect(await leaseIds(member)).not.toContain(id);
    }
    expect(Number((await lease(m1, 'LeaseTimeToLive', { ID: id })).TTL)).toBe(-1);

    await expect(lease(m2, 'LeaseRevoke', { ID: id })).rejects.toMatchObject({ code: NOT_FOUND, details: 'etcdserver: requested lease not found' });
    await expect(put(m3, '/rv/late', id)).rejects.toMatchObject({ code: NOT_FOUND, details: 'etcdserver: requested lease not found' });
    expect(await localKeys(m3, '/rv/late')).toEqual([]);
  });

  it('revoking a lease without keys writes nothing: the revision stays', async () => {
    const id = Number((await lease(m1, 'LeaseGrant', { TTL: 60 })).ID);
    const before = Number((await kv(m1, 'Range', { key: bytes('/nothing') })).header.revision);
    const revoked = await lease(m2, 'LeaseRevoke', { ID: id });
    expect(Number(revoked.header.revision)).toBe(before);
    expect(Number((await kv(m3, 'Range', { key: bytes('/nothing') })).header.revision)).toBe(before);
  });

  it('a keep-alive through a follower answers the full TTL and keeps the lease alive beyond its TTL; an unknown lease answers TTL 0', async () => {
    const [follower] = await followers();
    const id = Number((await lease(follower, 'LeaseGrant', { TTL: MIN_TTL })).ID);
    await put(follower, '/ka/key', id);
    const stream = keepAliveStream(follower);
    const started = Date.now();
    // Past the TTL, the time a revocation takes (check interval, commit), and then some.
    while (Date.now() - started < MIN_TTL * 1000 + CHECK_MS + ELECTION_MS) {
      const answer = await stream.renew(id);
      expect(answer).toMatchObject({ ID: id, TTL: MIN_TTL });
      await sleep(500);
    }
    expect(await localKeys(follower, '/ka/')).toEqual(['/ka/key']);
    const status = await lease(follower, 'LeaseTimeToLive', { ID: id });
    expect(Number(status.TTL)).toBeGreaterThan(0);

    // etcd answers a keep-alive for a lease it does not have with TTL 0 and keeps the stream open.
    expect(await stream.renew(0xdead)).toMatchObject({ ID: 0xdead, TTL: 0 });
    expect(await stream.renew(id)).toMatchObject({ ID: id, TTL: MIN_TTL });
    stream.close();
    await lease(follower, 'LeaseRevoke', { ID: id });
  });

  it('once keep-alives stop, the lease expires, not before its TTL: its keys vanish on every member in one revision', async () => {
    const [follower, other] = await followers();
    const id = Number((await lease(follower, 'LeaseGrant', { TTL: MIN_TTL })).ID);
    for (const key of ['/exp/a', '/exp/b', '/exp/c']) await put(other, key, id);
    const watched = Number((await put(other, '/exp/stays')).header.revision);
    const session = watch(other);
    const watchId = await session.create({ key: '/exp/', rangeEnd: prefixEnd('/exp/'), startRevision: watched + 1, prevKv: true });

    const stream = keepAliveStream(follower);
    const last = await stream.renew(id);
    expect(last.TTL).toBe(MIN_TTL);
    stream.close();

    const events = await session.waitForEvents(watchId, 3, HAPPENS_WITHIN_MS);
    const seenAt = Date.now();
    // Not before the TTL the last keep-alive granted (a lease that never expires fails the wait above).
    expect(seenAt).toBeGreaterThanOrEqual(last.sentAt + MIN_TTL * 1000);
    expect(events.map((event) => [event.type, event.key, event.prevKv?.lease])).toEqual([
      ['delete', '/exp/a', id],
      ['delete', '/exp/b', id],
      ['delete', '/exp/c', id],
    ]);
    // The expiry is one revocation: one revision, right after the last write.
    expect(new Set(events.map((event) => event.revision))).toEqual(new Set([watched + 1]));
    for (const member of cluster.members) {
      await eventually(`${member.name} applying the expiry`, async () => expect(await localKeys(member, '/exp/')).toEqual(['/exp/stays']), 5000);
      expect(await leaseIds(member)).not.toContain(id);
    }
    expect(Number((await kv(m1, 'Range', { key: bytes('/exp/stays') })).header.revision)).toBe(watched + 1);
    expect(Number((await lease(m2, 'LeaseTimeToLive', { ID: id })).TTL)).toBe(-1);
  });

  // As etcd's LeaseRenew: a follower whose leader just died waits for a new one and retries (every
  // 50 ms, up to the request timeout), so the keep-alive is answered and the stream stays open.
  it('a keep-alive sent to a follower right after the leader dies is answered by the new leader; the stream stays open', async () => {
    const oldLeader = await cluster.waitForLeader();
    const [follower] = await followers();
    const id = Number((await lease(follower, 'LeaseGrant', { TTL: 30 })).ID);
    const stream = keepAliveStream(follower);
    expect(await stream.renew(id)).toMatchObject({ ID: id, TTL: 30 });
    await cluster.kill(oldLeader);
    try {
      expect(await stream.renew(id, 5000 + 2 * ELECTION_MS)).toMatchObject({ ID: id, TTL: 30 });
    } finally {
      stream.close();
      cluster.launch(oldLeader);
      await cluster.waitForLeader();
      await eventually(`lease ${id} revoked`, () => lease(follower, 'LeaseRevoke', { ID: id }), 10_000);
    }
  });

  it('a lease kept alive through a surviving member outlives a kill -9 of the leader, and expires once the keep-alive stops', async () => {
    const TTL = 3;
    const oldLeader = await cluster.waitForLeader();
    const [keeperMember, other] = await followers();
    const id = Number((await lease(other, 'LeaseGrant', { TTL })).ID);
    await put(other, '/fo/a', id);
    const written = Number((await put(keeperMember, '/fo/b', id)).header.revision);
    const session = watch(other);
    const watchId = await session.create({ key: '/fo/', rangeEnd: prefixEnd('/fo/'), startRevision: written + 1, prevKv: true });
    const keeper = new Keeper(cluster.client(keeperMember, 'Lease'), id, 500);
    await keeper.started();

    await cluster.kill(oldLeader);
    const newLeader = await cluster.waitForLeader();
    const electedAt = Date.now();
    expect(newLeader).not.toBe(oldLeader);
    // Past any deadline the lease could have without renewals reaching the new leader: the TTL
    // from its promotion plus its extension (one election timeout), a check interval and a margin.
    await sleep(electedAt + ELECTION_MS + TTL * 1000 + CHECK_MS + MARGIN_MS - Date.now());
    expect(session.events(watchId)).toEqual([]);
    expect(await localKeys(other, '/fo/')).toEqual(['/fo/a', '/fo/b']);
    const status = await lease(other, 'LeaseTimeToLive', { ID: id, keys: true });
    expect(Number(status.TTL)).toBeGreaterThan(0);
    expect(Number(status.grantedTTL)).toBe(TTL);
    // The new leader renewed it: every answer since the election is the full TTL, none says "gone".
    const renewedSince = keeper.answers.filter((answer) => answer.sentAt > electedAt);
    expect(renewedSince.length).toBeGreaterThan(0);
    expect(renewedSince.every((answer) => answer.TTL === TTL)).toBe(true);

    const last = await keeper.stop();
    const events = await session.waitForEvents(watchId, 2, HAPPENS_WITHIN_MS);
    const seenAt = Date.now();
    expect(seenAt).toBeGreaterThanOrEqual(last.sentAt + TTL * 1000);
    expect(events.map((event) => [event.type, event.key, event.revision])).toEqual([
      ['delete', '/fo/a', written + 1],
      ['delete', '/fo/b', written + 1],
    ]);

    // While the old leader is down, a lease gets keys and the log moves past several snapshots
    // (--snapshot-count=10), so the old leader catches up from a snapshot and must rebuild its
    // leases and their keys from it: each member deletes the keys its own lessor knows of.
    const later = Number((await lease(other, 'LeaseGrant', { TTL: 60 })).ID);
    for (let i = 0; i < 12; i++) await put(i % 2 === 0 ? other : keeperMember, `/snap/k${String(i).padStart(2, '0')}`, later);

    cluster.launch(oldLeader);
    await cluster.waitForLeader();
    await goneEverywhere('/fo/', id);
    await eventually(`${oldLeader.name} catching up`, async () => {
      expect(await localKeys(oldLeader, '/snap/')).toHaveLength(12);
      expect(await leaseIds(oldLeader)).toContain(later);
    }, 10_000);
    // The line may still be in the pipe when the keys are readable.
    await eventually(`${oldLeader.name} logging the snapshot install`, async () => expect(oldLeader.output).toContain('installed snapshot from the leader'));
    const lists = await Promise.all(cluster.members.map(async (member) => (await leaseIds(member)).sort((a, b) => a - b)));
    expect(lists[1]).toEqual(lists[0]);
    expect(lists[2]).toEqual(lists[0]);
    await lease(oldLeader, 'LeaseRevoke', { ID: later });
    await goneEverywhere('/snap/', later);
  });

  it('a "require leader" keep-alive stream on a member that lost its quorum ends with UNAVAILABLE "no leader"', async () => {
    const [survivor, ...others] = cluster.members;
    await cluster.waitForLeader();
    const id = Number((await lease(survivor, 'LeaseGrant', { TTL: 60 })).ID);
    const metadata = new Metadata();
    metadata.set('hasleader', 'true');
    const stream = keepAliveStream(survivor, metadata);
    expect(await stream.renew(id)).toMatchObject({ ID: id, TTL: 60 });

    for (const member of others) await cluster.kill(member);
    // No keep-alive is sent: the stream must end by itself, once the member notices (check-quorum
    // or its election timer, then the once-per-election-timeout leader check).
    const ended = await settleWithin(stream.ended, HAPPENS_WITHIN_MS);
    expect(ended).toMatchObject({ code: UNAVAILABLE, details: 'etcdserver: no leader' });
  });
});
