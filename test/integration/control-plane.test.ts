// The KV calls a Kubernetes-style apiserver makes (its pkg/storage/etcd3), over gRPC against a real
// three-member cluster: create-if-absent, update/delete guarded by mod_revision with the current
// object returned on conflict, paginated lists pinned to one revision with continue keys,
// count_only / keys_only, and the compactor's Txn on a compact key's version.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, call, type MemberProcess } from './harness.js';

let cluster: TestCluster;
let m1: MemberProcess;
let m2: MemberProcess;
let m3: MemberProcess;

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  [m1, m2, m3] = cluster.members;
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const MOD = 2;
const VERSION = 0;
const EQUAL = 0;

const bytes = (text: string): Buffer => Buffer.from(text);
const kv = (member: MemberProcess, method: string, request: object): Promise<any> => call(cluster.client(member), method, request);
/** The end of the range holding every key that starts with `prefix` (etcd's GetPrefixRangeEnd). */
const prefixEnd = (prefix: string): Buffer => {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
};
const keysOf = (kvs: any[]): string[] => kvs.map((entry) => entry.key.toString());

/** create: if MOD(key) = 0 then Put(key) else Get(key). */
const create = (member: MemberProcess, key: string, value: string): Promise<any> =>
  kv(member, 'Txn', {
    compare: [{ key: bytes(key), target: MOD, result: EQUAL, mod_revision: 0 }],
    success: [{ request_put: { key: bytes(key), value: bytes(value) } }],
    failure: [{ request_range: { key: bytes(key) } }],
  });
/** update: if MOD(key) = rev then Put(key) else Get(key). */
const update = (member: MemberProcess, key: string, revision: number, value: string): Promise<any> =>
  kv(member, 'Txn', {
    compare: [{ key: bytes(key), target: MOD, result: EQUAL, mod_revision: revision }],
    success: [{ request_put: { key: bytes(key), value: bytes(value) } }],
    failure: [{ request_range: { key: bytes(key) } }],
  });
/** delete: if MOD(key) = rev then Delete(key, prev_kv) else Get(key). */
const remove = (member: MemberProcess, key: string, revision: number): Promise<any> =>
  kv(member, 'Txn', {
    compare: [{ key: bytes(key), target: MOD, result: EQUAL, mod_revision: revision }],
    success: [{ request_delete_range: { key: bytes(key), prev_kv: true } }],
    failure: [{ request_range: { key: bytes(key) } }],
  });
/** get: Range(key, limit 1) at the latest or a given revision. */
const get = async (member: MemberProcess, key: string, revision = 0): Promise<any | undefined> =>
  (await kv(member, 'Range', { key: bytes(key), limit: 1, revision })).kvs[0];

describe('control-plane calls', () => {
  it('create-if-absent: the first create wins, a second fails and returns the existing object', async () => {
    const key = '/registry/configmaps/default/cm1';
    const created = await create(m1, key, 'v1');
    expect(created.succeeded).toBe(true);
    expect(created.responses).toHaveLength(1);
    expect(created.responses[0].response).toBe('response_put');
    const revision = Number(created.header.revision);

    const stored = await get(m2, key);
    expect(stored.value.toString()).toBe('v1');
    expect(Number(stored.create_revision)).toBe(revision);
    expect(Number(stored.mod_revision)).toBe(revision);
    expect(Number(stored.version)).toBe(1);

    const again = await create(m3, key, 'v1-other');
    expect(again.succeeded).toBe(false);
    // A failed Txn writes nothing: the store's revision is unchanged.
    expect(Number(again.header.revision)).toBe(revision);
    expect(again.responses[0].response).toBe('response_range');
    const existing = again.responses[0].response_range;
    expect(existing.kvs).toHaveLength(1);
    expect(existing.kvs[0].value.toString()).toBe('v1');
    expect(Number(existing.kvs[0].mod_revision)).toBe(revision);
    expect(Number(existing.count)).toBe(1);
    expect((await get(m1, key)).value.toString()).toBe('v1');
  });

  // etcd refuses a Put (alone or in a Txn) naming a lease that was never granted with NotFound
  // "etcdserver: requested lease not found" and, for a Txn, applies none of it. The apiserver
  // creates TTL'd objects (events, masterleases) with Put(key, lease) after LeaseGrant.
  it('create with a lease that was never granted is refused: NotFound "requested lease not found"', async () => {
    const key = '/registry/masterleases/10.0.0.1';
    const request = {
      compare: [{ key: bytes(key), target: MOD, result: EQUAL, mod_revision: 0 }],
      success: [{ request_put: { key: bytes(key), value: bytes('event'), lease: 0x7a11e } }],
      failure: [{ request_range: { key: bytes(key) } }],
    };
    await expect(kv(m1, 'Txn', request)).rejects.toMatchObject({ code: 5, details: 'etcdserver: requested lease not found' });
    await expect(kv(m2, 'Put', { key: bytes(key), value: bytes('event'), lease: 0x7a11e })).rejects.toMatchObject({
      code: 5,
      details: 'etcdserver: requested lease not found',
    });
    expect(await get(m3, key)).toBeUndefined();
  });

  it('concurrent creates of one key: exactly one succeeds, the rest see its object', async () => {
    const key = '/registry/leases/kube-system/leader';
    const members = [m1, m2, m3, m1, m2, m3];
    const results = await Promise.all(members.map((member, i) => create(member, key, `candidate-${i}`)));
    const winners = results.filter((result) => result.succeeded);
    expect(winners).toHaveLength(1);
    const winner = `candidate-${results.indexOf(winners[0])}`;
    for (const loser of results.filter((result) => !result.succeeded)) {
      const seen = loser.responses[0].response_range.kvs[0];
      expect(seen.value.toString()).toBe(winner);
      expect(Number(seen.mod_revision)).toBe(Number(winners[0].header.revision));
    }
  });

  it('update-if-mod_revision: the right revision updates, a stale one fails and returns the current object', async () => {
    const key = '/registry/deployments/default/web';
    const created = await create(m1, key, 'replicas=1');
    const createdRevision = Number(created.header.revision);

    const updated = await update(m2, key, createdRevision, 'replicas=2');
    expect(updated.succeeded).toBe(true);
    expect(updated.responses[0].response).toBe('response_put');
    const updatedRevision = Number(updated.header.revision);
    expect(updatedRevision).toBeGreaterThan(createdRevision);
    const current = await get(m3, key);
    expect(current.value.toString()).toBe('replicas=2');
    expect(Number(current.mod_revision)).toBe(updatedRevision);
    expect(Number(current.create_revision)).toBe(createdRevision);
    expect(Number(current.version)).toBe(2);

    // A writer still holding the object it read at createdRevision loses.
    const stale = await update(m3, key, createdRevision, 'replicas=5');
    expect(stale.succeeded).toBe(false);
    expect(Number(stale.header.revision)).toBe(updatedRevision);
    const returned = stale.responses[0].response_range.kvs[0];
    expect(returned.value.toString()).toBe('replicas=2');
    expect(Number(returned.mod_revision)).toBe(updatedRevision);
    expect(Number(returned.version)).toBe(2);

    // It retries with the revision it was handed back, as GuaranteedUpdate does.
    const retried = await update(m1, key, Number(returned.mod_revision), 'replicas=5');
    expect(retried.succeeded).toBe(true);
    expect((await get(m2, key)).value.toString()).toBe('replicas=5');

    // Updating a key that does not exist (MOD = some revision) fails and the else Range is empty.
    const missing = await update(m2, '/registry/deployments/default/absent', updatedRevision, 'x');
    expect(missing.succeeded).toBe(false);
    expect(missing.responses[0].response_range.kvs).toEqual([]);
    expect(Number(missing.responses[0].response_range.count)).toBe(0);
  });

  it('delete-if-mod_revision: a stale delete fails with the current object, the right one deletes with prev_kv', async () => {
    const key = '/registry/secrets/default/token';
    const created = await create(m2, key, 'secret-1');
    const createdRevision = Number(created.header.revision);
    const updated = await update(m2, key, createdRevision, 'secret-2');
    const updatedRevision = Number(updated.header.revision);

    const stale = await remove(m1, key, createdRevision);
    expect(stale.succeeded).toBe(false);
    expect(stale.responses[0].response_range.kvs[0].value.toString()).toBe('secret-2');
    expect(Number(stale.responses[0].response_range.kvs[0].mod_revision)).toBe(updatedRevision);
    expect((await get(m3, key)).value.toString()).toBe('secret-2');

    const deleted = await remove(m3, key, updatedRevision);
    expect(deleted.succeeded).toBe(true);
    expect(deleted.responses[0].response).toBe('response_delete_range');
    const response = deleted.responses[0].response_delete_range;
    expect(Number(response.deleted)).toBe(1);
    expect(response.prev_kvs).toHaveLength(1);
    expect(response.prev_kvs[0].value.toString()).toBe('secret-2');
    expect(Number(response.prev_kvs[0].mod_revision)).toBe(updatedRevision);
    const deletedRevision = Number(deleted.header.revision);
    expect(deletedRevision).toBe(updatedRevision + 1);
    expect(await get(m1, key)).toBeUndefined();
    // The object is still readable at the revision before the delete.
    expect((await get(m2, key, deletedRevision - 1)).value.toString()).toBe('secret-2');

    // Deleting again with the old revision fails; the else Range is empty.
    const again = await remove(m1, key, updatedRevision);
    expect(again.succeeded).toBe(false);
    expect(again.responses[0].response_range.kvs).toEqual([]);

    // After deletion MOD(key) is 0 again: create-if-absent recreates it as a new object.
    const recreated = await create(m1, key, 'secret-3');
    expect(recreated.succeeded).toBe(true);
    const fresh = await get(m2, key);
    expect(Number(fresh.create_revision)).toBe(Number(recreated.header.revision));
    expect(Number(fresh.version)).toBe(1);
  });

  it('paginated list: limit + continue key + revision pinned to the first page; writes between pages do not show', async () => {
    const prefix = '/registry/pods/ns1/';
    const end = prefixEnd(prefix);
    const names = Array.from({ length: 11 }, (_, i) => `pod-${String(i).padStart(2, '0')}`);
    for (const name of names) {
      const result = await create(m1, prefix + name, `${name}@v1`);
      expect(result.succeeded).toBe(true);
    }
    // A neighbour just outside the range on each side.
    await kv(m1, 'Put', { key: bytes('/registry/pods/ns0'), value: bytes('outside') });
    await kv(m1, 'Put', { key: end, value: bytes('outside') });

    const limit = 4;
    const first = await kv(m2, 'Range', { key: bytes(prefix), range_end: end, limit });
    const listRevision = Number(first.header.revision);
    expect(keysOf(first.kvs)).toEqual(names.slice(0, limit).map((name) => prefix + name));
    expect(first.more).toBe(true);
    expect(Number(first.count)).toBe(names.length);

    const pages = [first];
    let page = first;
    let step = 0;
    while (page.more) {
      // Between pages: add keys inside and at the end of the range, change and delete keys that
      // are still to come, and delete one already listed. None of it may show in later pages.
      step++;
      await kv(m1, 'Put', { key: bytes(`${prefix}pod-${String(step).padStart(2, '0')}a`), value: bytes('new') });
      await kv(m3, 'Put', { key: bytes(`${prefix}zz-${step}`), value: bytes('new') });
      await kv(m1, 'Put', { key: bytes(prefix + names[names.length - step]), value: bytes('changed') });
      await kv(m3, 'DeleteRange', { key: bytes(prefix + names[names.length - 1 - step]) });
      await kv(m2, 'DeleteRange', { key: bytes(prefix + names[step - 1]) });

      const lastKey: Buffer = page.kvs[page.kvs.length - 1].key;
      const continueKey = Buffer.concat([lastKey, Buffer.from([0])]);
      const member = [m1, m2, m3][step % 3];
      page = await kv(member, 'Range', { key: continueKey, range_end: end, limit, revision: listRevision });
      // The header carries the store's current revision, not the pinned one.
      expect(Number(page.header.revision)).toBeGreaterThan(listRevision);
      // count is the number of keys in [continueKey, end) at the pinned revision.
      const remaining = names.filter((name) => Buffer.compare(Buffer.from(prefix + name), continueKey) >= 0).length;
      expect(Number(page.count)).toBe(remaining);
      expect(page.more).toBe(remaining > limit);
      pages.push(page);
      expect(pages.length).toBeLessThan(10);
    }
    expect(pages).toHaveLength(Math.ceil(names.length / limit));

    const listed = pages.flatMap((p) => p.kvs);
    expect(keysOf(listed)).toEqual(names.map((name) => prefix + name));
    expect(listed.map((entry: any) => entry.value.toString())).toEqual(names.map((name) => `${name}@v1`));
    expect(listed.every((entry: any) => Number(entry.mod_revision) <= listRevision)).toBe(true);

    // The union of the pages is exactly the snapshot at the list revision, entry for entry.
    const snapshot = await kv(m3, 'Range', { key: bytes(prefix), range_end: end, revision: listRevision });
    expect(snapshot.more).toBe(false);
    expect(listed).toEqual(snapshot.kvs);

    // And the current state has moved on.
    const now = await kv(m1, 'Range', { key: bytes(prefix), range_end: end, keys_only: true });
    expect(keysOf(now.kvs)).not.toEqual(keysOf(listed));
    expect(keysOf(now.kvs)).toContain(`${prefix}zz-1`);
  });

  it('count_only and keys_only on a prefix, at the latest and at a pinned revision', async () => {
    const prefix = '/registry/services/ns2/';
    const end = prefixEnd(prefix);
    for (const name of ['a', 'b', 'c', 'd', 'e']) await kv(m1, 'Put', { key: bytes(prefix + name), value: bytes(`spec-${name}`.repeat(20)) });
    await kv(m1, 'Put', { key: bytes('/registry/services/ns20'), value: bytes('outside') });

    const counted = await kv(m2, 'Range', { key: bytes(prefix), range_end: end, count_only: true });
    expect(counted.kvs).toEqual([]);
    expect(Number(counted.count)).toBe(5);
    expect(counted.more).toBe(false);
    const countRevision = Number(counted.header.revision);

    const keys = await kv(m3, 'Range', { key: bytes(prefix), range_end: end, keys_only: true });
    expect(keysOf(keys.kvs)).toEqual(['a', 'b', 'c', 'd', 'e'].map((name) => prefix + name));
    expect(Number(keys.count)).toBe(5);
    for (const entry of keys.kvs) {
      expect(entry.value.length).toBe(0);
      expect(Number(entry.mod_revision)).toBeGreaterThan(0);
      expect(Number(entry.create_revision)).toBeGreaterThan(0);
      expect(Number(entry.version)).toBe(1);
    }

    // keys_only with a limit pages like a normal list.
    const limited = await kv(m1, 'Range', { key: bytes(prefix), range_end: end, keys_only: true, limit: 2 });
    expect(keysOf(limited.kvs)).toEqual([`${prefix}a`, `${prefix}b`]);
    expect(limited.more).toBe(true);
    expect(Number(limited.count)).toBe(5);

    // count_only with a limit still counts the whole range.
    const countLimited = await kv(m2, 'Range', { key: bytes(prefix), range_end: end, count_only: true, limit: 2 });
    expect(countLimited.kvs).toEqual([]);
    expect(Number(countLimited.count)).toBe(5);

    await kv(m1, 'DeleteRange', { key: bytes(`${prefix}a`) });
    await kv(m1, 'Put', { key: bytes(`${prefix}f`), value: bytes('spec-f') });
    await kv(m1, 'Put', { key: bytes(`${prefix}g`), value: bytes('spec-g') });
    expect(Number((await kv(m3, 'Range', { key: bytes(prefix), range_end: end, count_only: true })).count)).toBe(6);
    const pinned = await kv(m3, 'Range', { key: bytes(prefix), range_end: end, count_only: true, revision: countRevision });
    expect(Number(pinned.count)).toBe(5);
    const pinnedKeys = await kv(m2, 'Range', { key: bytes(prefix), range_end: end, keys_only: true, revision: countRevision });
    expect(keysOf(pinnedKeys.kvs)).toEqual(['a', 'b', 'c', 'd', 'e'].map((name) => prefix + name));
  });

  it("compactor: a Txn on the compact key's version elects one compactor, then Compact; lists below fail OutOfRange", async () => {
    const compactKey = 'compact_rev_key';
    await kv(m1, 'Put', { key: bytes('/registry/events/e1'), value: bytes('old') });
    const old = await kv(m1, 'Put', { key: bytes('/registry/events/e1'), value: bytes('new') });
    const target = Number(old.header.revision);

    // Two apiservers race with the same expected version; only one may compact.
    const attempt = (member: MemberProcess, expectedVersion: number): Promise<any> =>
      kv(member, 'Txn', {
        compare: [{ key: bytes(compactKey), target: VERSION, result: EQUAL, version: expectedVersion }],
        success: [{ request_put: { key: bytes(compactKey), value: bytes(String(target)) } }],
        failure: [{ request_range: { key: bytes(compactKey) } }],
      });
    const [a, b] = await Promise.all([attempt(m1, 0), attempt(m2, 0)]);
    expect([a.succeeded, b.succeeded].sort()).toEqual([false, true]);
    const loser = a.succeeded ? b : a;
    expect(Number(loser.responses[0].response_range.kvs[0].version)).toBe(1);
    await kv(a.succeeded ? m1 : m2, 'Compact', { revision: target });

    await expect(kv(m3, 'Range', { key: bytes('/registry/events/'), range_end: prefixEnd('/registry/events/'), revision: target - 1 })).rejects.toMatchObject({
      code: 11,
      details: 'etcdserver: mvcc: required revision has been compacted',
    });
    const atTarget = await kv(m3, 'Range', { key: bytes('/registry/events/'), range_end: prefixEnd('/registry/events/'), revision: target });
    expect(atTarget.kvs.map((entry: any) => entry.value.toString())).toEqual(['new']);

    // A list continued at a revision compacted since its first page fails the same way (the
    // apiserver turns this into 410 Gone, "continue token expired").
    const firstPage = await kv(m1, 'Range', { key: bytes('/registry/events/'), range_end: prefixEnd('/registry/events/'), limit: 1 });
    const pinned = Number(firstPage.header.revision);
    await kv(m1, 'Put', { key: bytes('/registry/events/e2'), value: bytes('x') });
    const latest = await kv(m1, 'Put', { key: bytes('/registry/events/e2'), value: bytes('y') });
    await kv(m2, 'Compact', { revision: Number(latest.header.revision) });
    const continueKey = Buffer.concat([firstPage.kvs[0].key, Buffer.from([0])]);
    await expect(kv(m3, 'Range', { key: continueKey, range_end: prefixEnd('/registry/events/'), limit: 1, revision: pinned })).rejects.toMatchObject({
      code: 11,
      details: 'etcdserver: mvcc: required revision has been compacted',
    });

    // The next round expects version 1.
    const next = await attempt(m3, 1);
    expect(next.succeeded).toBe(true);
  });
});
