import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { CompactedRevisionError, FutureRevisionError, MvccCorruptError } from '../../src/mvcc/errors.js';
import type { MvccStore } from '../../src/mvcc/mvcc-store.js';
import { ALL, NONE, b, del, installCopy, observe, openStore, put, s, tempDir } from './helpers.js';

type Primitive = (...args: unknown[]) => unknown;
const prototype = ClassicLevel.prototype as unknown as { _batch: Primitive; _chainedBatch: Primitive; _put: Primitive; _del: Primitive };

const originalArrayBatch = prototype._batch;
const originalChainedBatch = prototype._chainedBatch;

afterEach(() => vi.restoreAllMocks());

/** A history with overwrites, deletes, a recreated key, a multi-op transaction and metadata. */
function writeHistory(store: MvccStore): void {
  put(store, 'a', 'a1');
  put(store, 'b', 'b1', 5n);
  put(store, 'a', 'a2');
  del(store, 'b');
  const txn = store.write();
  txn.put(b('c'), b('c1'), 0n);
  txn.put(b('d'), b('d1'), 0n);
  txn.deleteRange(b('a'), NONE);
  txn.end();
  put(store, 'b', 'b2');
  store.setMeta('members', b('[1,2,3]'));
}

describe('persist and reopen', () => {
  it('a reopened store equals the one that persisted, at every revision', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    writeHistory(store);
    await store.persist(42);
    const before = observe(store);
    await store.close();
    const reopened = await openStore(dir);
    expect(observe(reopened)).toEqual(before);
    expect(reopened.appliedIndex).toBe(42);
    expect(s(reopened.getMeta('members')!)).toBe('[1,2,3]');
    expect(put(reopened, 'e', 'e1')).toBe(8);
  });

  it('after compaction too: dropped records stay dropped and the compacted revision is durable', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    writeHistory(store);
    await store.persist(10);
    store.compact(5);
    put(store, 'c', 'c2');
    await store.persist(11);
    const before = observe(store);
    await store.close();
    const reopened = await openStore(dir);
    expect(reopened.compactedRevision).toBe(5);
    expect(observe(reopened)).toEqual(before);
    expect(() => reopened.range(b('a'), NONE, { revision: 4 })).toThrow(CompactedRevisionError);
    expect(() => reopened.compact(5)).toThrow(CompactedRevisionError);
  });

  it('writes not yet persisted are gone after a reopen; the applied index says where to replay from', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    put(store, 'a', '1');
    await store.persist(3);
    put(store, 'a', '2');
    store.setMeta('x', b('lost'));
    await store.close();
    const reopened = await openStore(dir);
    expect(reopened.appliedIndex).toBe(3);
    expect(reopened.revision).toBe(2);
    expect(s(reopened.get(b('a'))!.value)).toBe('1');
    expect(reopened.getMeta('x')).toBeUndefined();
  });

  it('one persist is one unsynced batch, with no single puts or deletes', async () => {
    const store = await openStore();
    // Batches are written either as an array (_batch) or chained (_chainedBatch, then its _write).
    const writeOptions: unknown[] = [];
    const arrays = vi.spyOn(prototype, '_batch').mockImplementation(function (this: unknown, ...args: unknown[]) {
      writeOptions.push(args[1]);
      return originalArrayBatch.apply(this, args);
    });
    const chained = vi.spyOn(prototype, '_chainedBatch').mockImplementation(function (this: unknown) {
      const batch = originalChainedBatch.call(this) as { _write: (options: unknown) => Promise<void> };
      const write = batch._write.bind(batch);
      batch._write = (options) => {
        writeOptions.push(options);
        return write(options);
      };
      return batch;
    });
    const single = [vi.spyOn(prototype, '_put'), vi.spyOn(prototype, '_del')];
    writeHistory(store);
    store.compact(4);
    await store.persist(1);
    put(store, 'z', 'z');
    await store.persist(2);
    expect(arrays.mock.calls.length + chained.mock.calls.length).toBe(2);
    expect(writeOptions).toEqual([expect.objectContaining({ sync: false }), expect.objectContaining({ sync: false })]);
    for (const spy of single) expect(spy).not.toHaveBeenCalled();
  });

  it('a damaged record header refuses the open', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    put(store, 'a', '1');
    await store.persist(1);
    await store.close();
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    for await (const [key, value] of db.iterator({ gte: Buffer.from('h'), lt: Buffer.from('i') })) {
      value[value.length - 1] ^= 0xff;
      await db.put(key, value);
    }
    await db.close();
    await expect(openStore(dir)).rejects.toThrow(MvccCorruptError);
  });
});

describe('restore from a snapshot (a staged copy installed)', () => {
  it('round trip into a fresh store, compaction included, durable on return', async () => {
    const source = await openStore();
    writeHistory(source);
    source.compact(4);
    source.markApplied(77);
    const dir = tempDir();
    const target = await openStore(dir);
    await installCopy(source, target);
    expect(observe(target)).toEqual(observe(source));
    expect(target.appliedIndex).toBe(77);
    expect(s(target.getMeta('members')!)).toBe('[1,2,3]');
    await target.close();
    const reopened = await openStore(dir);
    expect(observe(reopened)).toEqual(observe(source));
    expect(reopened.appliedIndex).toBe(77);
  });

  it('replaces a store\'s previous contents, on disk too, pending writes included', async () => {
    const source = await openStore();
    put(source, 'only', 'here');
    const dir = tempDir();
    const target = await openStore(dir);
    writeHistory(target);
    await target.persist(5);
    target.compact(3); // deletes pending, not yet persisted
    put(target, 'pending', 'write');
    await installCopy(source, target);
    expect(observe(target)).toEqual(observe(source));
    await target.close();
    const reopened = await openStore(dir);
    expect(observe(reopened)).toEqual(observe(source));
    expect(reopened.getMeta('members')).toBeUndefined();
  });
});

describe('hash', () => {
  it('is equal for equal histories and differs otherwise', async () => {
    const one = await openStore();
    const two = await openStore();
    writeHistory(one);
    writeHistory(two);
    expect(two.hash()).toEqual(one.hash());
    expect(two.hash(4)).toEqual(one.hash(4));
    expect(one.hash(4).hash).not.toBe(one.hash().hash);

    const other = await openStore();
    writeHistory(other);
    put(other, 'a', 'different');
    expect(other.hash().hash).not.toBe(one.hash().hash);
    expect(other.hash(7).hash).toBe(one.hash(7).hash); // the histories agree up to 7

    const sameValueDifferentHistory = await openStore();
    put(sameValueDifferentHistory, 'k', 'v');
    const reference = await openStore();
    put(reference, 'k', 'x');
    put(reference, 'k', 'v');
    expect(sameValueDifferentHistory.range(b('k'), NONE).kvs[0].value).toEqual(reference.range(b('k'), NONE).kvs[0].value);
    expect(sameValueDifferentHistory.hash().hash).not.toBe(reference.hash().hash);

    // Same kvs and main revisions, only the order inside one transaction (sub-revisions) differs.
    const abTxn = await openStore();
    const baTxn = await openStore();
    for (const [store, order] of [[abTxn, ['a', 'b']], [baTxn, ['b', 'a']]] as const) {
      const txn = store.write();
      for (const key of order) txn.put(b(key), b('v'), 0n);
      txn.end();
    }
    expect(abTxn.range(NONE, ALL).kvs).toEqual(baTxn.range(NONE, ALL).kvs);
    expect(abTxn.hash().hash).not.toBe(baTxn.hash().hash);
  });

  it('reports the compacted and hash revisions, changes with compaction, and refuses bad revisions', async () => {
    const store = await openStore();
    writeHistory(store);
    const full = store.hash();
    expect(full).toMatchObject({ compactRevision: 0, hashRevision: 7, revision: 7 });
    store.compact(4);
    const after = store.hash(0);
    expect(after).toMatchObject({ compactRevision: 4, hashRevision: 7 });
    expect(after.hash).not.toBe(full.hash);
    expect(() => store.hash(3)).toThrow(CompactedRevisionError);
    expect(() => store.hash(8)).toThrow(FutureRevisionError);
    const restored = await openStore();
    await installCopy(store, restored);
    expect(restored.hash()).toEqual(store.hash());
    expect(restored.range(NONE, ALL).count).toBe(store.range(NONE, ALL).count);
  });
});
