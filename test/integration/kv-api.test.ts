// The KV service over the wire against a real three-member cluster: revisions, DeleteRange, Txn,
// Compact and reads at a revision, with etcd's errors and status codes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, call, type MemberProcess } from './harness.js';

let cluster: TestCluster;
let m1: MemberProcess;
let m2: MemberProcess;

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  [m1, m2] = cluster.members;
}, 60_000);
afterAll(async () => {
  await cluster.stop();
});

const bytes = (text: string): Buffer => Buffer.from(text);
const kv = (member: MemberProcess, method: string, request: object): Promise<any> => call(cluster.client(member), method, request);
const values = (response: any): string[] => response.kvs.map((entry: any) => entry.value.toString());

describe('KV over gRPC', () => {
  it('keeps revisions: create/mod revision, version, reads at an older revision, delete tombstones', async () => {
    const first = await kv(m1, 'Put', { key: bytes('rev/a'), value: bytes('1') });
    const base = Number(first.header.revision);
    await kv(m2, 'Put', { key: bytes('rev/a'), value: bytes('2') });
    const now = await kv(m1, 'Range', { key: bytes('rev/a') });
    expect(Number(now.kvs[0].create_revision)).toBe(base);
    expect(Number(now.kvs[0].mod_revision)).toBe(base + 1);
    expect(Number(now.kvs[0].version)).toBe(2);
    expect(values(await kv(m2, 'Range', { key: bytes('rev/a'), revision: base }))).toEqual(['1']);

    const deleted = await kv(m1, 'DeleteRange', { key: bytes('rev/'), range_end: bytes('rev0'), prev_kv: true });
    expect(Number(deleted.deleted)).toBe(1);
    expect(deleted.prev_kvs.map((entry: any) => entry.value.toString())).toEqual(['2']);
    expect((await kv(m2, 'Range', { key: bytes('rev/a') })).kvs).toEqual([]);
    expect(values(await kv(m2, 'Range', { key: bytes('rev/a'), revision: base + 1 }))).toEqual(['2']);
  });

  it('limits, counts and sorts ranges', async () => {
    for (const [key, value] of [['s/b', '2'], ['s/a', '3'], ['s/c', '1']]) await kv(m1, 'Put', { key: bytes(key), value: bytes(value) });
    const limited = await kv(m2, 'Range', { key: bytes('s/'), range_end: bytes('s0'), limit: 2 });
    expect(values(limited)).toEqual(['3', '2']);
    expect(limited.more).toBe(true);
    expect(Number(limited.count)).toBe(3);
    const byValue = await kv(m2, 'Range', { key: bytes('s/'), range_end: bytes('s0'), sort_order: 2, sort_target: 4 });
    expect(values(byValue)).toEqual(['3', '2', '1']);
    const counted = await kv(m2, 'Range', { key: bytes('s/'), range_end: bytes('s0'), count_only: true });
    expect(counted.kvs).toEqual([]);
    expect(Number(counted.count)).toBe(3);
  });

  it('runs a Txn at one revision: compares choose the branch, nested Txns and reads see the writes', async () => {
    await kv(m1, 'Put', { key: bytes('t/lock'), value: bytes('free') });
    const txn = {
      compare: [{ key: bytes('t/lock'), target: 3, result: 0, value: bytes('free') }],
      success: [
        { request_put: { key: bytes('t/lock'), value: bytes('held') } },
        { request_put: { key: bytes('t/owner'), value: bytes('me') } },
        { request_range: { key: bytes('t/'), range_end: bytes('t0') } },
        { request_txn: { compare: [{ key: bytes('t/missing'), target: 0, result: 0, version: 0 }], success: [{ request_range: { key: bytes('t/owner') } }] } },
      ],
      failure: [{ request_range: { key: bytes('t/lock') } }],
    };
    const won = await kv(m2, 'Txn', txn);
    expect(won.succeeded).toBe(true);
    expect(won.responses[2].response_range.kvs.map((entry: any) => entry.value.toString())).toEqual(['held', 'me']);
    expect(won.responses[3].response_txn.succeeded).toBe(true);
    const owner = await kv(m1, 'Range', { key: bytes('t/owner') });
    expect(Number(owner.kvs[0].mod_revision)).toBe(Number(won.header.revision));
    const lock = await kv(m1, 'Range', { key: bytes('t/lock') });
    expect(Number(lock.kvs[0].mod_revision)).toBe(Number(won.header.revision));

    const lost = await kv(m1, 'Txn', txn);
    expect(lost.succeeded).toBe(false);
    expect(lost.responses[0].response_range.kvs[0].value.toString()).toBe('held');
  });

  it('compacts: reads below the compacted revision fail with OutOfRange, as do future revisions', async () => {
    const put = await kv(m1, 'Put', { key: bytes('c/x'), value: bytes('old') });
    const old = Number(put.header.revision);
    const latest = await kv(m1, 'Put', { key: bytes('c/x'), value: bytes('new') });
    await kv(m2, 'Compact', { revision: Number(latest.header.revision) });
    await expect(kv(m1, 'Range', { key: bytes('c/x'), revision: old })).rejects.toMatchObject({ code: 11, details: 'etcdserver: mvcc: required revision has been compacted' });
    await expect(kv(m2, 'Range', { key: bytes('c/x'), revision: old + 1000 })).rejects.toMatchObject({ code: 11, details: 'etcdserver: mvcc: required revision is a future revision' });
    await expect(kv(m2, 'Compact', { revision: old })).rejects.toMatchObject({ code: 11, details: 'etcdserver: mvcc: required revision has been compacted' });
    expect(values(await kv(m2, 'Range', { key: bytes('c/x') }))).toEqual(['new']);
  });

  it('HashKV agrees across members at one revision, and Status reports a database size', async () => {
    const put = await kv(m1, 'Put', { key: bytes('h/k'), value: bytes('v') });
    const revision = Number(put.header.revision);
    // Make sure every member has applied the write before hashing at its revision.
    for (const member of cluster.members) await kv(member, 'Range', { key: bytes('h/k') });
    const hashes = await Promise.all(cluster.members.map((member) => call(cluster.client(member, 'Maintenance'), 'HashKV', { revision })));
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    expect(hashes.every((h) => Number(h.hash_revision) === revision)).toBe(true);
    await kv(m1, 'Put', { key: bytes('h/k'), value: bytes('changed') });
    const later = await call(cluster.client(m1, 'Maintenance'), 'HashKV', { revision: 0 });
    expect(later.hash).not.toBe(hashes[0].hash);
    const status = await call(cluster.client(m2, 'Maintenance'), 'Status', {});
    expect(Number(status.dbSize)).toBeGreaterThan(0);
  });

  it('Hash is the whole retained history, equal on every member once they have applied the same writes, over gRPC and HTTP', async () => {
    await kv(m1, 'Put', { key: bytes('hash/k'), value: bytes('v1') });
    const { header } = await kv(m1, 'Put', { key: bytes('hash/k'), value: bytes('v2') });
    for (const member of cluster.members) await kv(member, 'Range', { key: bytes('hash/k'), serializable: false });
    const maintenance = (member: MemberProcess): any => cluster.client(member, 'Maintenance');
    const hashes = await Promise.all(cluster.members.map((member) => call(maintenance(member), 'Hash', {})));
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    expect(hashes[0].hash).not.toBe(0);
    const current = await call(maintenance(m1), 'HashKV', { revision: 0 });
    expect(Number(current.hash_revision)).toBe(Number(header.revision));
    expect(hashes[0].hash).toBe(current.hash);
    const overHttp = await fetch(`http://127.0.0.1:${m2.clientPort}/v3/maintenance/hash`, { method: 'POST', body: '{}' });
    expect(overHttp.status).toBe(200);
    expect(((await overHttp.json()) as { hash: number }).hash).toBe(hashes[0].hash);
  });

  it("refuses bad requests with etcd's messages and keeps serving", async () => {
    await expect(kv(m1, 'DeleteRange', { key: bytes('') })).rejects.toMatchObject({ code: 3, details: 'etcdserver: key is not provided' });
    const tooMany = { success: Array.from({ length: 129 }, (_, i) => ({ request_put: { key: bytes(`x/${i}`), value: bytes('v') } })) };
    await expect(kv(m1, 'Txn', tooMany)).rejects.toMatchObject({ code: 3, details: 'etcdserver: too many operations in txn request' });
    const duplicate = { success: [{ request_put: { key: bytes('d'), value: bytes('1') } }, { request_put: { key: bytes('d'), value: bytes('2') } }] };
    await expect(kv(m1, 'Txn', duplicate)).rejects.toMatchObject({ code: 3, details: 'etcdserver: duplicate key given in txn request' });
    await expect(kv(m1, 'Put', { key: bytes('nokey'), ignore_value: true })).rejects.toMatchObject({ code: 3, details: 'etcdserver: key not found' });
    await kv(m1, 'Put', { key: bytes('still'), value: bytes('serving') });
    expect(values(await kv(m2, 'Range', { key: bytes('still') }))).toEqual(['serving']);
  });
});
