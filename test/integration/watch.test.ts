// The Watch service's protocol, as etcd answers it: created and canceled notices, history replay,
// prev_kv and filters, compaction, client-chosen ids, progress requests and notifications,
// "require leader" streams, a slow reader, and many watchers on one member.

import { readFileSync } from 'node:fs';
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, TestCluster, type MemberProcess } from './harness.js';
import { prefixEnd, WatchSession } from './watch-client.js';

const bytes = (text: string): Buffer => Buffer.from(text);

describe('Watch', () => {
  let cluster: TestCluster;
  let leader: MemberProcess;
  let follower: MemberProcess;
  const sessions: WatchSession[] = [];

  function session(member: MemberProcess, metadata?: Metadata): WatchSession {
    const opened = new WatchSession(cluster.client(member, 'Watch'), metadata);
    sessions.push(opened);
    return opened;
  }

  async function put(key: string, value: string): Promise<number> {
    return Number((await call(cluster.client(leader), 'Put', { key: bytes(key), value: bytes(value) })).header.revision);
  }

  beforeAll(async () => {
    cluster = await TestCluster.start(3, ['--experimental-watch-progress-notify-interval=200ms']);
    leader = await cluster.waitForLeader();
    follower = cluster.members.find((member) => member !== leader)!;
  }, 30_000);

  afterAll(async () => {
    for (const opened of sessions) opened.close();
    await cluster?.stop();
  });

  it('announces a watcher with its id and the current revision, then streams its events', async () => {
    const before = await put('/w/a', '0');
    const watch = session(follower);
    const id = await watch.create({ key: '/w/a' });
    expect(watch.responses[0]).toMatchObject({ created: true, canceled: false });
    expect(Number(watch.responses[0].header.revision)).toBeGreaterThanOrEqual(before);
    const first = await put('/w/a', '1');
    await call(cluster.client(leader), 'DeleteRange', { key: bytes('/w/a') });
    const events = await watch.waitForEvents(id, 2);
    expect(events.map((event) => [event.type, event.key, event.kv.value, event.revision])).toEqual([
      ['put', '/w/a', '1', first],
      ['delete', '/w/a', '', first + 1],
    ]);
    // prev_kv was not asked for.
    expect(events.every((event) => event.prevKv === undefined)).toBe(true);
  });

  it('replays history from a start revision with prev_kv, then continues live', async () => {
    const r1 = await put('/w/h/1', 'a');
    await put('/w/h/1', 'b');
    await put('/w/h/2', 'c');
    const watch = session(leader);
    const id = await watch.create({ key: '/w/h/', rangeEnd: prefixEnd('/w/h/'), startRevision: r1, prevKv: true });
    await put('/w/h/2', 'd');
    const events = await watch.waitForEvents(id, 4);
    expect(events.map((event) => `${event.key}=${event.kv.value}<-${event.prevKv?.value ?? '∅'}`)).toEqual(['/w/h/1=a<-∅', '/w/h/1=b<-a', '/w/h/2=c<-∅', '/w/h/2=d<-c']);
    expect(events.map((event) => event.revision)).toEqual([r1, r1 + 1, r1 + 2, r1 + 3]);
  });

  it('keeps all events of one transaction in one response', async () => {
    const watch = session(follower);
    const id = await watch.create({ key: '/w/t/', rangeEnd: prefixEnd('/w/t/') });
    const ops = ['x', 'y', 'z'].map((name) => ({ request_put: { key: bytes(`/w/t/${name}`), value: bytes(name) } }));
    const revision = Number((await call(cluster.client(leader), 'Txn', { success: ops })).header.revision);
    await watch.waitForEvents(id, 3);
    const withEvents = watch.responses.filter((response) => Number(response.watch_id) === id && response.events.length > 0);
    expect(withEvents).toHaveLength(1);
    expect(withEvents[0].events.map((event: any) => Number(event.kv.mod_revision))).toEqual([revision, revision, revision]);
  });

  it('honours the NOPUT and NODELETE filters', async () => {
    const watch = session(follower);
    const noPut = await watch.create({ key: '/w/f', noPut: true });
    const noDelete = await watch.create({ key: '/w/f', noDelete: true });
    await put('/w/f', '1');
    await call(cluster.client(leader), 'DeleteRange', { key: bytes('/w/f') });
    await put('/w/f', '2');
    expect((await watch.waitForEvents(noPut, 1)).map((event) => event.type)).toEqual(['delete']);
    expect((await watch.waitForEvents(noDelete, 2)).map((event) => `${event.type}:${event.kv.value}`)).toEqual(['put:1', 'put:2']);
  });

  it('cancels on request, and takes client-chosen ids (refusing one in use)', async () => {
    const watch = session(leader);
    const chosen = await watch.create({ key: '/w/c', watchId: 7 });
    expect(chosen).toBe(7);
    const again = await watch.create({ key: '/w/c', watchId: 7 });
    expect(again).toBe(-1);
    const refusal = watch.responses.find((response) => response.created && response.canceled);
    expect(refusal?.cancel_reason).toMatch(/duplicate watch ID/);
    watch.cancel(7);
    await watch.waitFor((response) => response.canceled && Number(response.watch_id) === 7 && !response.created);
    const afterCancel = await put('/w/c', 'after-cancel');
    // Not a fixed wait: a progress answer at or past that revision comes only once every watcher
    // on the stream has been sent everything up to it, so a live watcher 7 would have had the put.
    await watch.progressUntil(afterCancel);
    expect(watch.events(7)).toEqual([]);
  });

  it('refuses a start revision below the compacted one with compact_revision and, as etcd, no cancel_reason', async () => {
    const old = await put('/w/old', '1');
    const compactAt = await put('/w/old', '2');
    await call(cluster.client(leader), 'Compact', { revision: compactAt });
    const watch = session(follower);
    await eventually('the follower applied the compaction', async () => {
      const id = await watch.create({ key: '/w/old', startRevision: old });
      const canceled = await watch.waitFor((response) => Number(response.watch_id) === id && response.canceled, 2000);
      expect(Number(canceled.compact_revision)).toBe(compactAt);
      expect(canceled.cancel_reason).toBe('');
    });
    // From the compacted revision itself, history is still there.
    const id = await watch.create({ key: '/w/old', startRevision: compactAt });
    expect((await watch.waitForEvents(id, 1))[0].kv.value).toBe('2');
  });

  it('answers a progress request with watch_id -1 at a revision covering every event sent', async () => {
    const watch = session(follower);
    const id = await watch.create({ key: '/w/p' });
    const written = await put('/w/p', 'x');
    await watch.waitForEvents(id, 1);
    const progress = await watch.progress();
    expect(Number(progress.watch_id)).toBe(-1);
    expect(progress.events).toEqual([]);
    expect(Number(progress.header.revision)).toBeGreaterThanOrEqual(written);
  });

  it('sends periodic progress notifications to watchers that ask for them, and only to them', async () => {
    const watch = session(follower);
    const asked = await watch.create({ key: '/w/quiet', progressNotify: true });
    const silent = await watch.create({ key: '/w/quiet2' });
    const isNotice = (response: any): boolean => Number(response.watch_id) === asked && !response.created && response.events.length === 0;
    const notice = await watch.waitFor(isNotice, 20_000);
    expect(Number(notice.header.revision)).toBeGreaterThan(0);
    // Not a fixed wait: one round of notices goes out at once on the stream, so by the next notice
    // to `asked`, a notice of the first round to `silent` would have arrived before it.
    await watch.waitFor(isNotice, 20_000, watch.responses.indexOf(notice) + 1);
    expect(watch.responses.filter((response) => Number(response.watch_id) === silent && !response.created)).toEqual([]);
  });

  it('catches a reader that stopped reading up from history: nothing lost, nothing twice, in order', async () => {
    const watch = session(follower);
    const id = await watch.create({ key: '/w/slow/', rangeEnd: prefixEnd('/w/slow/') });
    (watch as unknown as { stream: { pause(): void; resume(): void } }).stream.pause();
    const value = 'v'.repeat(4096);
    const revisions: number[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(cluster.client(leader), 'Put', { key: bytes(`/w/slow/${i}`), value: bytes(value) })));
      revisions.push(...results.map((result) => Number(result.header.revision)));
    }
    (watch as unknown as { stream: { resume(): void } }).stream.resume();
    const events = await watch.waitForEvents(id, revisions.length, 30_000);
    expect(events.map((event) => event.revision)).toEqual([...revisions].sort((a, b) => a - b));
  }, 60_000);

  it('serves 10,000 watchers on one member within bounded memory', async () => {
    const pid = follower.process!.pid!;
    const rssBefore = residentBytes(pid);
    const streams = Array.from({ length: 10 }, () => session(follower));
    const ids: Array<{ stream: WatchSession; id: number }> = [];
    await Promise.all(
      streams.map(async (stream, s) => {
        for (let i = 0; i < 1000; i++) ids.push({ stream, id: await stream.create({ key: `/w/many/${(s * 1000 + i) % 100}` }) });
      }),
    );
    const revision = await put('/w/many/42', 'hello');
    const watchersOf42 = ids.filter(({ stream, id }) => stream.recording(id, '').key === '/w/many/42');
    expect(watchersOf42).toHaveLength(100);
    for (const { stream, id } of watchersOf42) expect((await stream.waitForEvents(id, 1))[0].revision).toBe(revision);
    const growth = residentBytes(pid) - rssBefore;
    expect(growth).toBeLessThan(200 * 1024 * 1024);
    for (const stream of streams) stream.close();
  }, 60_000);

  it('ends a "require leader" stream with Unavailable "etcdserver: no leader" when its member loses the leader', async () => {
    const metadata = new Metadata();
    metadata.set('hasleader', 'true');
    const watch = session(follower, metadata);
    await watch.create({ key: '/w/lead' });
    for (const member of cluster.members) if (member !== follower) await cluster.kill(member);
    const error = await watch.ended;
    expect(error).toMatchObject({ code: 14, details: 'etcdserver: no leader' });
    // A new require-leader stream is refused at once while the member has no leader.
    const late = session(follower, metadata);
    expect(await late.ended).toMatchObject({ code: 14, details: 'etcdserver: no leader' });
  }, 30_000);
});

function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]) * 1024;
}
