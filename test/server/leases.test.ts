// MemberLeases with a real store: leases of any int64 ID, their keys, revocation, and the reload
// after a restart (from the store's lease records and its keys).

import { describe, expect, it } from 'vitest';
import { Lessor } from '../../src/lease/lessor.js';
import { MemberLeases } from '../../src/server/leases.js';
import type { MvccStore } from '../../src/mvcc/mvcc-store.js';
import { ALL, NONE, b, openStore, put, tempDir } from '../mvcc/helpers.js';

const IDS = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -1n];

const leasesOn = (store: MvccStore): MemberLeases => new MemberLeases(store, new Lessor(2), () => 0);

function keysOf(leases: MemberLeases, id: bigint): string[] | undefined {
  const lease = leases.lessor.get(id);
  return lease === undefined ? undefined : [...lease.keys].sort();
}

describe('MemberLeases', () => {
  it('keeps int64 leases and their keys across a restart, then revokes one with its keys', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const leases = leasesOn(store);
    for (const id of IDS) {
      leases.grant(id, 30);
      put(store, `k${id}`, 'v', id);
    }
    for (const id of IDS) expect(keysOf(leases, id)).toEqual([`k${id}`]);
    await store.persist(5);
    await store.close();

    const reopened = await openStore(dir);
    const reloaded = leasesOn(reopened);
    expect(reloaded.lessor.ids().sort()).toEqual([...IDS].sort());
    for (const id of IDS) {
      expect(reloaded.lessor.get(id)?.ttlSeconds).toBe(30);
      expect(keysOf(reloaded, id)).toEqual([`k${id}`]);
    }

    const txn = reopened.write();
    reloaded.revoke(txn, 2n ** 63n - 1n);
    txn.end();
    reloaded.forget(2n ** 63n - 1n);
    expect(reopened.get(b(`k${2n ** 63n - 1n}`))).toBeUndefined();
    expect(reopened.get(b(`k${-(2n ** 63n)}`))?.lease).toBe(-(2n ** 63n));
    expect(leasesOn(reopened).lessor.has(2n ** 63n - 1n)).toBe(false);
  });

  it('the reload after a restart reads no value: keys and leases come from the index alone', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const leases = leasesOn(store);
    leases.grant(7n, 30);
    for (let i = 0; i < 50; i++) put(store, `k${i}`, 'v'.repeat(100), i % 2 === 0 ? 7n : 0n);
    await store.persist(5);
    await store.close();

    const reopened = await openStore(dir, { valueCacheBytes: 0 });
    const reloaded = leasesOn(reopened);
    expect(keysOf(reloaded, 7n)?.length).toBe(25);
    expect(reopened.valueDiskReads).toBe(0);
  });

  it('reads lease records as earlier versions wrote them (decimal name, TTL a double)', async () => {
    const store = await openStore();
    const ttl = Buffer.alloc(8);
    ttl.writeDoubleBE(15);
    store.setMeta('lease/123456789', ttl);
    store.setMeta('lease/not-a-number', ttl);
    put(store, 'a', 'v', 123456789n);
    const leases = leasesOn(store);
    expect(leases.lessor.ids()).toEqual([123456789n]);
    expect(keysOf(leases, 123456789n)).toEqual(['a']);
    expect(store.range(NONE, ALL).kvs.map((kv) => kv.lease)).toEqual([123456789n]);
  });
});
