import { describe, expect, it } from 'vitest';
import { CompactedRevisionError, FutureRevisionError, MvccErrorCode, MvccLimitExceededError, TxnEndedError, TxnInProgressError } from '../../src/mvcc/errors.js';
import { SortOrder, SortTarget, type MvccStore } from '../../src/mvcc/mvcc-store.js';
import { ALL, NONE, b, del, keys, openStore, plain, put, s } from './helpers.js';

const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';
const FUTURE = 'etcdserver: mvcc: required revision is a future revision';

describe('revision bookkeeping', () => {
  it('put, put, delete, put: revisions, versions, create and mod revisions', async () => {
    const store = await openStore();
    expect(store.revision).toBe(1);
    expect(put(store, 'foo', 'a')).toBe(2);
    expect(plain(store.get(b('foo')))).toEqual({ key: 'foo', value: 'a', createRevision: 2, modRevision: 2, version: 1, lease: 0n });
    expect(put(store, 'foo', 'b', 7n)).toBe(3);
    expect(plain(store.get(b('foo')))).toEqual({ key: 'foo', value: 'b', createRevision: 2, modRevision: 3, version: 2, lease: 7n });
    expect(del(store, 'foo')).toBe(4);
    expect(store.get(b('foo'))).toBeUndefined();
    expect(store.keyCount).toBe(0);
    expect(put(store, 'foo', 'c')).toBe(5);
    expect(plain(store.get(b('foo')))).toEqual({ key: 'foo', value: 'c', createRevision: 5, modRevision: 5, version: 1, lease: 0n });
    expect(store.keyCount).toBe(1);
  });

  it('a transaction that changes nothing leaves the revision alone', async () => {
    const store = await openStore();
    put(store, 'a', '1');
    expect(del(store, 'missing')).toBe(2);
    const txn = store.write();
    txn.range(b('a'), NONE);
    expect(txn.end()).toBe(2);
    expect(store.revision).toBe(2);
  });

  it('put returns the previous kv; deleteRange returns the deleted kvs', async () => {
    const store = await openStore();
    put(store, 'a', '1');
    put(store, 'b', '2');
    const txn = store.write();
    expect(plain(txn.put(b('a'), b('x'), 0n))?.value).toBe('1');
    expect(txn.put(b('new'), b('y'), 0n)).toBeUndefined();
    txn.end();
    const txn2 = store.write();
    expect(keys(txn2.deleteRange(b('a'), b('c')))).toEqual(['a', 'b']);
    expect(txn2.changes.map((event) => [event.type, s(event.kv.key), event.kv.modRevision, s(event.prevKv!.value)])).toEqual([
      ['delete', 'a', 5, 'x'],
      ['delete', 'b', 5, '2'],
    ]);
    expect(txn2.end()).toBe(5);
  });
});

describe('one transaction, one revision', () => {
  it('every op of a transaction shares its revision, ordered by sub-revision', async () => {
    const store = await openStore();
    put(store, 'gone', 'x');
    const txn = store.write();
    expect(txn.revision).toBe(3);
    txn.put(b('a'), b('1'), 0n);
    txn.put(b('b'), b('2'), 0n);
    txn.put(b('a'), b('3'), 0n);
    txn.deleteRange(b('gone'), NONE);
    expect(store.revision).toBe(2); // outside readers do not see the open transaction
    expect(store.range(b('a'), NONE).kvs).toEqual([]);
    expect(txn.end()).toBe(3);
    expect(store.revision).toBe(3);
    expect(plain(store.get(b('a')))).toEqual({ key: 'a', value: '3', createRevision: 3, modRevision: 3, version: 2, lease: 0n });
    expect(store.get(b('b'))?.modRevision).toBe(3);
    expect(store.get(b('gone'))).toBeUndefined();
    expect(store.range(b('gone'), NONE, { revision: 2 }).kvs.length).toBe(1);
  });

  it('txn.range sees the transaction\'s own writes', async () => {
    const store = await openStore();
    put(store, 'a', '1');
    put(store, 'b', '1');
    const txn = store.write();
    txn.put(b('a'), b('2'), 0n);
    txn.put(b('c'), b('new'), 0n);
    txn.deleteRange(b('b'), NONE);
    const seen = txn.range(b('a'), ALL);
    expect(seen.kvs.map(plain)).toEqual([
      { key: 'a', value: '2', createRevision: 2, modRevision: 4, version: 2, lease: 0n },
      { key: 'c', value: 'new', createRevision: 4, modRevision: 4, version: 1, lease: 0n },
    ]);
    expect(seen.revision).toBe(4);
    expect(() => txn.range(b('a'), NONE, { revision: 5 })).toThrow(FutureRevisionError);
    expect(s(txn.range(b('a'), NONE, { revision: 2 }).kvs[0].value)).toBe('1');
    txn.end();
  });

  it('one writer at a time; an ended transaction refuses use', async () => {
    const store = await openStore();
    const txn = store.write();
    expect(() => store.write()).toThrow(TxnInProgressError);
    txn.end();
    expect(() => txn.put(b('a'), b('1'), 0n)).toThrow(TxnEndedError);
    store.write().end();
  });

  it('abort undoes every change', async () => {
    const store = await openStore();
    put(store, 'a', '1');
    put(store, 'b', '1');
    const before = store.range(NONE, ALL).kvs.map(plain);
    const txn = store.write();
    txn.put(b('a'), b('2'), 0n);
    txn.put(b('z'), b('2'), 0n);
    txn.deleteRange(b('b'), NONE);
    txn.abort();
    expect(store.revision).toBe(3);
    expect(store.keyCount).toBe(2);
    expect(store.range(NONE, ALL).kvs.map(plain)).toEqual(before);
    expect(put(store, 'a', '3')).toBe(4);
    expect(store.get(b('a'))?.version).toBe(2);
  });

  it('limits refuse an oversized key or value before anything changes', async () => {
    const store = await openStore(undefined, { limits: { keyBytesMax: 4, valueBytesMax: 8 } });
    const txn = store.write();
    expect(() => txn.put(b('toolong'), b('v'), 0n)).toThrow(MvccLimitExceededError);
    expect(() => txn.put(b('k'), Buffer.alloc(9), 0n)).toThrow(MvccLimitExceededError);
    expect(txn.end()).toBe(1);
  });
});

describe('reads at old revisions', () => {
  it('see old values, and tombstones hide deleted keys', async () => {
    const store = await openStore();
    put(store, 'a', 'a1'); // 2
    put(store, 'b', 'b1'); // 3
    put(store, 'a', 'a2'); // 4
    del(store, 'b'); // 5
    put(store, 'b', 'b2'); // 6
    const at = (revision: number): unknown => store.range(NONE, ALL, { revision }).kvs.map((kv) => `${s(kv.key)}=${s(kv.value)}@${kv.version}`);
    expect(at(1)).toEqual([]);
    expect(at(2)).toEqual(['a=a1@1']);
    expect(at(3)).toEqual(['a=a1@1', 'b=b1@1']);
    expect(at(4)).toEqual(['a=a2@2', 'b=b1@1']);
    expect(at(5)).toEqual(['a=a2@2']);
    expect(at(6)).toEqual(['a=a2@2', 'b=b2@1']);
    expect(at(0)).toEqual(at(6));
    expect(at(-3)).toEqual(at(6));
    expect(store.range(b('b'), NONE, { revision: 5 }).count).toBe(0);
    const result = store.range(b('a'), NONE, { revision: 3 });
    expect(result.revision).toBe(6); // the header revision is the current one, as in etcd
  });

  it('a future revision is an error with etcd\'s message', async () => {
    const store = await openStore();
    put(store, 'a', '1');
    const read = (): unknown => store.range(b('a'), NONE, { revision: 3 });
    expect(read).toThrow(FutureRevisionError);
    expect(read).toThrow(FUTURE);
    try {
      read();
    } catch (error) {
      expect((error as FutureRevisionError).code).toBe(MvccErrorCode.FutureRevision);
    }
  });
});

async function fiveKeys(): Promise<MvccStore> {
  const store = await openStore();
  // a..e; versions and create/mod revisions differ from key order on purpose
  put(store, 'c', 'v3'); // 2
  put(store, 'a', 'v5'); // 3
  put(store, 'e', 'v1'); // 4
  put(store, 'b', 'v4'); // 5
  put(store, 'd', 'v2'); // 6
  put(store, 'a', 'v5'); // 7 a: version 2
  put(store, 'a', 'v5'); // 8 a: version 3
  put(store, 'e', 'v1'); // 9 e: version 2
  return store;
}

describe('range_end, limit, more and count', () => {
  it('empty range_end is one key; "\\0" is every key >= key; otherwise [key, range_end)', async () => {
    const store = await fiveKeys();
    expect(keys(store.range(b('b'), NONE).kvs)).toEqual(['b']);
    expect(keys(store.range(b('bb'), NONE).kvs)).toEqual([]);
    expect(keys(store.range(b('b'), ALL).kvs)).toEqual(['b', 'c', 'd', 'e']);
    expect(keys(store.range(ALL, ALL).kvs)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(keys(store.range(b('b'), b('d')).kvs)).toEqual(['b', 'c']);
    expect(keys(store.range(b('d'), b('b')).kvs)).toEqual([]);
  });

  it('limit cuts the kvs, sets more, and count is the whole range', async () => {
    const store = await fiveKeys();
    const limited = store.range(b('a'), ALL, { limit: 2 });
    expect(keys(limited.kvs)).toEqual(['a', 'b']);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(5);
    const exact = store.range(b('a'), ALL, { limit: 5 });
    expect(exact.more).toBe(false);
    expect(exact.kvs.length).toBe(5);
    const counted = store.range(b('a'), ALL, { countOnly: true });
    expect(counted.kvs).toEqual([]);
    expect(counted.count).toBe(5);
    const bare = store.range(b('a'), b('c'), { keysOnly: true });
    expect(bare.kvs.map((kv) => s(kv.value))).toEqual(['', '']);
    expect(bare.kvs[0].version).toBe(3);
    expect(s(store.get(b('a'))!.value)).toBe('v5'); // keysOnly did not touch the stored value
  });
});

describe('sort orders and targets', () => {
  const order = async (sortOrder: SortOrder, sortTarget: SortTarget, limit = 0): Promise<string[]> => keys((await fiveKeys()).range(b('a'), ALL, { sortOrder, sortTarget, limit }).kvs);

  it('NONE or ASCEND on KEY is key order; DESCEND on KEY reverses it', async () => {
    expect(await order(SortOrder.None, SortTarget.Key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await order(SortOrder.Ascend, SortTarget.Key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await order(SortOrder.Descend, SortTarget.Key)).toEqual(['e', 'd', 'c', 'b', 'a']);
  });

  it('sorts by create, mod, version and value; NONE on another target means ASCEND', async () => {
    expect(await order(SortOrder.Ascend, SortTarget.Create)).toEqual(['c', 'a', 'e', 'b', 'd']);
    expect(await order(SortOrder.None, SortTarget.Create)).toEqual(['c', 'a', 'e', 'b', 'd']);
    expect(await order(SortOrder.Descend, SortTarget.Create)).toEqual(['d', 'b', 'e', 'a', 'c']);
    expect(await order(SortOrder.Ascend, SortTarget.Mod)).toEqual(['c', 'b', 'd', 'a', 'e']);
    expect(await order(SortOrder.Descend, SortTarget.Mod)).toEqual(['e', 'a', 'd', 'b', 'c']);
    expect((await order(SortOrder.Descend, SortTarget.Version)).slice(0, 2)).toEqual(['a', 'e']);
    expect(await order(SortOrder.Ascend, SortTarget.Value)).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(await order(SortOrder.None, SortTarget.Value)).toEqual(['e', 'd', 'c', 'b', 'a']);
  });

  it('the limit applies after sorting', async () => {
    expect(await order(SortOrder.Descend, SortTarget.Key, 2)).toEqual(['e', 'd']);
    expect(await order(SortOrder.Descend, SortTarget.Mod, 1)).toEqual(['e']);
    const store = await fiveKeys();
    expect(store.range(b('a'), ALL, { sortOrder: SortOrder.Descend, limit: 2 }).more).toBe(true);
  });

  it('as in etcd, NONE with a non-KEY target sorts only the first limit + 1 keys', async () => {
    expect(await order(SortOrder.None, SortTarget.Value, 2)).toEqual(['c', 'b']);
    expect(await order(SortOrder.Ascend, SortTarget.Value, 2)).toEqual(['e', 'd']);
  });
});

describe('filters on mod and create revision', () => {
  it('keep kvs inside the bounds; count stays the whole range as in etcd', async () => {
    const store = await fiveKeys();
    // create: c2 a3 e4 b5 d6 · mod: c2 b5 d6 a8 e9
    expect(keys(store.range(b('a'), ALL, { minModRevision: 6 }).kvs)).toEqual(['a', 'd', 'e']);
    expect(keys(store.range(b('a'), ALL, { maxModRevision: 5 }).kvs)).toEqual(['b', 'c']);
    expect(keys(store.range(b('a'), ALL, { minCreateRevision: 4 }).kvs)).toEqual(['b', 'd', 'e']);
    expect(keys(store.range(b('a'), ALL, { maxCreateRevision: 3 }).kvs)).toEqual(['a', 'c']);
    const both = store.range(b('a'), ALL, { minCreateRevision: 3, maxModRevision: 8, limit: 1 });
    expect(keys(both.kvs)).toEqual(['a']);
    expect(both.more).toBe(true);
    expect(both.count).toBe(5);
  });
});

describe('compaction', () => {
  async function compacted(): Promise<MvccStore> {
    const store = await openStore();
    put(store, 'a', 'a1'); // 2
    put(store, 'a', 'a2'); // 3
    put(store, 'b', 'b1'); // 4
    del(store, 'b'); // 5
    put(store, 'a', 'a3'); // 6
    store.compact(5);
    return store;
  }

  it('reading below the compacted revision errors; at and above works', async () => {
    const store = await compacted();
    expect(store.compactedRevision).toBe(5);
    const below = (): unknown => store.range(b('a'), NONE, { revision: 4 });
    expect(below).toThrow(CompactedRevisionError);
    expect(below).toThrow(COMPACTED);
    expect(store.range(NONE, ALL, { revision: 5 }).kvs.map((kv) => `${s(kv.key)}=${s(kv.value)}@${kv.version}`)).toEqual(['a=a2@2']);
    expect(store.range(NONE, ALL, { revision: 6 }).kvs.map((kv) => `${s(kv.key)}=${s(kv.value)}@${kv.version}`)).toEqual(['a=a3@3']);
    expect(store.range(NONE, ALL).count).toBe(1);
  });

  it('hashing at the compacted revision errors, as etcd 3.4\'s HashKV does, though a range there works', async () => {
    const store = await compacted();
    expect(() => store.hash(5)).toThrow(COMPACTED);
    expect(() => store.hash(4)).toThrow(CompactedRevisionError);
    expect(store.hash(6).hashRevision).toBe(6);
    // 0 means the current revision, served even when it is the compacted one.
    put(store, 'c', 'c1'); // 7
    store.compact(7);
    expect(store.hash(0).hashRevision).toBe(7);
  });

  it('compacting an already compacted or a future revision errors like etcd', async () => {
    const store = await compacted();
    expect(() => store.compact(5)).toThrow(COMPACTED);
    expect(() => store.compact(3)).toThrow(CompactedRevisionError);
    expect(() => store.compact(7)).toThrow(FUTURE);
    store.compact(6);
    expect(store.range(b('a'), NONE).kvs[0].version).toBe(3);
    // History after compaction continues normally.
    expect(put(store, 'a', 'a4')).toBe(7);
    expect(plain(store.get(b('a')))).toMatchObject({ createRevision: 2, modRevision: 7, version: 4 });
  });

  it('keys whose history is gone leave the index', async () => {
    const store = await openStore();
    put(store, 'a', '1');
    put(store, 'b', '1');
    del(store, 'b');
    expect(store.indexedKeyCount).toBe(2);
    store.compact(3);
    expect(store.indexedKeyCount).toBe(2); // b's delete (4) is above the compaction
    store.compact(4);
    expect(store.indexedKeyCount).toBe(1);
    expect(store.keyCount).toBe(1);
  });

  it('a deleted key recreated after compaction starts a new life', async () => {
    const store = await compacted();
    put(store, 'b', 'b2');
    expect(plain(store.get(b('b')))).toMatchObject({ createRevision: 7, version: 1 });
  });
});
