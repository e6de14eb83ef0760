// The store keeps record headers in memory and values in LevelDB: values come back right from
// every place they can be (a pending batch, the cache, the database), open() reads no value, and a
// store written in the layout before this one (whole records under 'r') still opens, converted.

import { describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { encodeRecord, recordKey } from '../../src/mvcc/codec.js';
import { MvccCorruptError } from '../../src/mvcc/errors.js';
import { decodeHeader, headerKeyRange, valueKeyRange, LAYOUT_KEY } from '../../src/mvcc/layout.js';
import { SortOrder, SortTarget, type MvccStore } from '../../src/mvcc/mvcc-store.js';
import { readRevision } from '../../src/mvcc/revision.js';
import { ALL, NONE, b, del, keys, observe, openStore, put, s, tempDir } from './helpers.js';

/** Values big enough that a few of them overflow a small cache. */
const value = (key: string, round: number): string => `${key}@${round}:`.padEnd(600, String.fromCharCode(97 + (round % 26)));

/** Three rounds of writes over 40 keys, deletes of some, a recreate: history with prevKvs everywhere. */
function writeRounds(store: MvccStore): void {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 40; i++) put(store, `k${String(i).padStart(2, '0')}`, value(`k${i}`, round), BigInt(i % 3));
    del(store, `k0${round}`);
  }
  put(store, 'k00', 'back');
  put(store, 'empty', '');
}

async function rawDb(dir: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return db;
}

async function countKeys(db: ClassicLevel<Buffer, Buffer>, range: { gte: Buffer; lt: Buffer }): Promise<number> {
  let count = 0;
  for await (const _key of db.keys(range)) count++;
  return count;
}

describe('values on disk', () => {
  it('values read right while pending, from the cache, and from disk after the cache dropped them', async () => {
    const store = await openStore(tempDir(), { valueCacheBytes: 4096 });
    writeRounds(store);
    const pending = observe(store);
    expect(store.valueDiskReads).toBe(0); // nothing written yet: every value is still in memory
    await store.persist(1);
    expect(observe(store)).toEqual(pending);
    expect(store.valueDiskReads).toBeGreaterThan(100); // a 4 KiB cache holds a handful of 600-byte values
  });

  it('a reopened store, with no cache at all, reads every value, prevKv and watch event right', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    writeRounds(store);
    await store.persist(7);
    const before = observe(store);
    const hashes = [store.hash(10), store.hash(50)];
    const events = store.changesSince(2, () => true, 10_000, 10_000).events;
    await store.close();

    const reopened = await openStore(dir, { valueCacheBytes: 0 });
    expect(observe(reopened)).toEqual(before); // every revision's kvs and the HashKV
    expect([reopened.hash(10), reopened.hash(50)]).toEqual(hashes);
    expect(reopened.valueDiskReads).toBeGreaterThan(100);
    expect(reopened.changesSince(2, () => true, 10_000, 10_000).events).toEqual(events);
    expect(events.filter((event) => event.prevKv !== undefined).length).toBeGreaterThan(80);
    expect(s(reopened.get(b('k05'))!.value)).toBe(value('k5', 2));
    const txn = reopened.write();
    expect(s(txn.put(b('k05'), b('new'), 0n)!.value)).toBe(value('k5', 2));
    expect(txn.deleteRange(b('k10'), b('k12')).map((kv) => s(kv.value))).toEqual([value('k10', 2), value('k11', 2)]);
    txn.end();
  });

  it('HashKV reads past the cache: it neither fills it nor pushes the hot values out', async () => {
    const store = await openStore(tempDir());
    writeRounds(store);
    await store.persist(1);
    store.get(b('k05'));
    const afterHot = store.valueDiskReads;
    store.hash();
    const afterHash = store.valueDiskReads;
    expect(afterHash).toBeGreaterThan(afterHot + 100);
    store.get(b('k05'));
    expect(store.valueDiskReads).toBe(afterHash); // still cached
    store.get(b('k06'));
    expect(store.valueDiskReads).toBe(afterHash + 1); // read by the hash, but not cached by it
  });

  it('an overwrite or delete reads the old value only when its prevKv is looked at', async () => {
    const store = await openStore(tempDir(), { valueCacheBytes: 0 });
    put(store, 'a', 'a1');
    put(store, 'b', 'b1');
    await store.persist(1);
    const txn = store.write();
    const previous = txn.put(b('a'), b('a2'), 0n);
    const deleted = txn.deleteRange(b('b'), NONE);
    txn.end();
    expect(store.valueDiskReads).toBe(0);
    expect(s(previous!.value)).toBe('a1');
    expect({ ...deleted[0] }).toMatchObject({ value: b('b1'), modRevision: 3 });
    expect(store.valueDiskReads).toBe(2);
    expect(s(previous!.value)).toBe('a1'); // read once
    expect(store.valueDiskReads).toBe(2);
  });

  it('sorts by value from disk, and keys_only reads no value', async () => {
    const dir = tempDir();
    const store = await openStore(dir, { valueCacheBytes: 0 });
    for (const [key, text] of [['a', 'zz'], ['b', 'xx'], ['c', 'yy']]) put(store, key, text);
    await store.persist(1);
    const sorted = store.range(b('a'), ALL, { sortTarget: SortTarget.Value, sortOrder: SortOrder.Descend });
    expect(sorted.kvs.map((kv) => s(kv.value))).toEqual(['zz', 'yy', 'xx']);
    const reads = store.valueDiskReads;
    expect(reads).toBe(3);
    const keysOnly = store.range(b('a'), ALL, { keysOnly: true });
    expect(keys(keysOnly.kvs)).toEqual(['a', 'b', 'c']);
    expect(keysOnly.kvs.every((kv) => kv.value.byteLength === 0)).toBe(true);
    expect(store.valueDiskReads).toBe(reads);
    expect(keys(store.range(b('a'), ALL, { keysOnly: true, sortTarget: SortTarget.Value }).kvs)).toEqual(['b', 'c', 'a']);
  });

  it('compaction deletes the dropped records\' headers and values from disk; the rest read right', async () => {
    const dir = tempDir();
    const store = await openStore(dir, { valueCacheBytes: 0 });
    writeRounds(store);
    store.compact(store.revision - 1);
    await store.persist(3);
    const after = observe(store);
    await store.close();

    const db = await rawDb(dir);
    const headers = await countKeys(db, headerKeyRange);
    const values = await countKeys(db, valueKeyRange);
    await db.close();
    // Left: the latest put of each key live at the compaction (k00–k39 but the deleted k02) and
    // the last revision's put of 'empty', which has a header but no stored value.
    expect(headers).toBe(40);
    expect(values).toBe(39);
    const reopened = await openStore(dir, { valueCacheBytes: 0 });
    expect(observe(reopened)).toEqual(after);
  });

  it('open() reads no value: a store whose every value is damaged opens, counts and lists its keys, and refuses only the values', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    writeRounds(store);
    await store.persist(1);
    const listed = store.range(NONE, ALL, { keysOnly: true });
    const hash = store.hash();
    await store.close();

    const db = await rawDb(dir);
    let damaged = 0;
    for await (const [key, stored] of db.iterator({ gte: Buffer.from([0]), lt: Buffer.from([0xff]) })) {
      if (key[0] === 0x68 || key[0] === 0x6d || key[0] === 0x4c || key[0] === 0x78) continue; // headers, meta, layout, member metadata
      stored[stored.length - 1] ^= 0xff;
      await db.put(key, stored);
      damaged++;
    }
    await db.close();
    expect(damaged).toBeGreaterThan(100);

    const reopened = await openStore(dir);
    expect(reopened.range(NONE, ALL, { keysOnly: true })).toEqual(listed);
    expect(reopened.range(NONE, ALL, { countOnly: true }).count).toBe(listed.count);
    expect(reopened.valueDiskReads).toBe(0);
    expect(() => reopened.get(b('k05'))).toThrow(MvccCorruptError);
    expect(() => reopened.hash()).toThrow(MvccCorruptError);
    expect(hash.hash).not.toBe(0);
  });
});

/**
 * Rewrites a store into the layout before this one (every record whole under 'r' + revision, no
 * layout key), as the previous version wrote it — all records, or only the first `legacyCount` (a
 * conversion interrupted part-way).
 */
async function toLegacyLayout(dir: string, legacyCount = Infinity): Promise<number> {
  const db = await rawDb(dir);
  let converted = 0;
  for await (const [key, header] of db.iterator(headerKeyRange)) {
    if (converted >= legacyCount) break;
    const record = decodeHeader(key, header, (bytes) => bytes.toString('latin1'));
    const valueKeyBytes = Buffer.from(key);
    valueKeyBytes[0] = 0x76;
    const stored = await db.get(valueKeyBytes);
    const legacy = record.withValue(stored === undefined ? new Uint8Array(0) : stored.subarray(4));
    await db.batch([
      { type: 'put', key: recordKey(readRevision(key, 1)), value: encodeRecord(legacy) },
      { type: 'del', key },
      { type: 'del', key: valueKeyBytes },
    ]);
    converted++;
  }
  await db.del(LAYOUT_KEY);
  await db.close();
  return converted;
}

describe('a store written in the previous layout', () => {
  for (const [name, legacyCount] of [['whole', Infinity], ['half converted when the process died', 60]] as const) {
    it(`opens with every key, value, revision and hash as before, converted on disk (${name})`, async () => {
      const dir = tempDir();
      const store = await openStore(dir);
      writeRounds(store);
      store.setMeta('members', b('[1,2,3]'));
      await store.persist(9);
      const before = observe(store);
      await store.close();
      expect(await toLegacyLayout(dir, legacyCount)).toBeGreaterThan(50);

      const reopened = await openStore(dir, { valueCacheBytes: 0 });
      expect(observe(reopened)).toEqual(before);
      expect(reopened.appliedIndex).toBe(9);
      expect(s(reopened.getMeta('members')!)).toBe('[1,2,3]');
      await reopened.close();

      const db = await rawDb(dir);
      expect(await countKeys(db, { gte: Buffer.from('r'), lt: Buffer.from('s') })).toBe(0);
      expect((await db.get(LAYOUT_KEY))?.readUInt32BE(0)).toBe(2);
      await db.close();
      expect(observe(await openStore(dir))).toEqual(before);
    });
  }
});
