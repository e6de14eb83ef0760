import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { CompactedRevisionError, FutureRevisionError, MvccCorruptError, MvccLimitExceededError } from '../../src/mvcc/errors.js';
import type { MvccStore } from '../../src/mvcc/mvcc-store.js';
import { crc32 } from '../../src/mvcc/codec.js';
import { ALL, NONE, b, del, observe, openStore, put, s, tempDir } from './helpers.js';

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

describe('image and restore', () => {
  it('an image encoded in slices is the state as of the call, whatever is written while it encodes', async () => {
    const source = await openStore();
    writeHistory(source);
    const expected = source.image();
    const encoding = source.imageInSlices(2);
    put(source, 'written-meanwhile', 'x');
    source.setMeta('members', Buffer.from('[9]'));
    expect((await encoding).equals(expected)).toBe(true);
    expect((await source.imageInSlices(3)).equals(source.image())).toBe(true);
  });

  it('round trip into a fresh store, compaction included, durable on return', async () => {
    const source = await openStore();
    writeHistory(source);
    source.compact(4);
    const image = source.image();
    const dir = tempDir();
    const target = await openStore(dir);
    await target.restore(image, 77);
    expect(observe(target)).toEqual(observe(source));
    expect(target.appliedIndex).toBe(77);
    expect(s(target.getMeta('members')!)).toBe('[1,2,3]');
    await target.close();
    const reopened = await openStore(dir);
    expect(observe(reopened)).toEqual(observe(source));
    expect(reopened.appliedIndex).toBe(77);
  });

  it('restore replaces a store\'s previous contents, on disk too', async () => {
    const source = await openStore();
    put(source, 'only', 'here');
    const dir = tempDir();
    const target = await openStore(dir);
    writeHistory(target);
    await target.persist(5);
    target.compact(3); // deletes pending, not yet persisted
    put(target, 'pending', 'write');
    await target.restore(source.image(), 9);
    expect(observe(target)).toEqual(observe(source));
    await target.close();
    const reopened = await openStore(dir);
    expect(observe(reopened)).toEqual(observe(source));
    expect(reopened.getMeta('members')).toBeUndefined();
  });

  it('an image carries its store\'s applied index, which a restore takes when past the snapshot\'s', async () => {
    const source = await openStore();
    writeHistory(source);
    source.markApplied(50);
    const dir = tempDir();
    const target = await openStore(dir);
    await target.restore(source.image(), 40);
    expect(target.appliedIndex).toBe(50);
    await target.close();
    // Synced and on disk: the applied index comes back after a reopen.
    expect((await openStore(dir)).appliedIndex).toBe(50);
  });

  it('reads a version 1 image (no applied index) as taken at the snapshot\'s index', async () => {
    const source = await openStore();
    writeHistory(source);
    source.markApplied(50);
    const v2 = source.image();
    // Version 1: the same layout without the 8-byte applied index after the magic.
    const body = Buffer.concat([Buffer.from('RKVMVCC1', 'latin1'), v2.subarray(16, v2.byteLength - 4)]);
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32BE(crc32(body));
    const target = await openStore();
    await target.restore(Buffer.concat([body, trailer]), 40);
    expect(target.appliedIndex).toBe(40);
    expect(observe(target)).toEqual(observe(source));
  });

  it('a damaged or oversized image is refused and the store is unchanged', async () => {
    const source = await openStore();
    writeHistory(source);
    const image = source.image();
    const target = await openStore();
    put(target, 'keep', 'me');
    const before = observe(target);
    const damaged = Buffer.from(image);
    damaged[20] ^= 1;
    await expect(target.restore(damaged, 3)).rejects.toThrow(MvccCorruptError);
    await expect(target.restore(image.subarray(0, 10), 3)).rejects.toThrow(MvccCorruptError);
    expect(observe(target)).toEqual(before);
    expect(target.appliedIndex).toBe(0);

    const small = await openStore(undefined, { limits: { imageBytesMax: image.byteLength - 1 } });
    put(small, 'keep', 'me');
    const smallBefore = observe(small);
    await expect(small.restore(image, 3)).rejects.toThrow(MvccLimitExceededError);
    expect(observe(small)).toEqual(smallBefore);
    writeHistory(small);
    expect(() => small.image()).toThrow(MvccLimitExceededError);
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
    await restored.restore(store.image(), 1);
    expect(restored.hash()).toEqual(store.hash());
    expect(restored.range(NONE, ALL).count).toBe(store.range(NONE, ALL).count);
  });
});
