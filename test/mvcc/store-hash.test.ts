// HashKV as a member serves it (hashYielding): the same hash as the synchronous one, with etcd's
// errors, read over several turns of the event loop from a snapshot of the database.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompactedRevisionError, FutureRevisionError } from '../../src/mvcc/errors.js';
import type { MvccStore } from '../../src/mvcc/mvcc-store.js';
import { del, openStore, put } from './helpers.js';

async function storeWithHistory(records: number): Promise<MvccStore> {
  const store = await openStore();
  for (let i = 0; i < records; i++) put(store, `key-${i % 700}`, randomBytes(i % 50).toString('hex'));
  del(store, 'key-3');
  return store;
}

describe('hashYielding', () => {
  it('gives the synchronous hash at every revision asked, and etcd\'s errors for a future or compacted one', async () => {
    const store = await storeWithHistory(2500);
    store.compact(1200);
    for (const revision of [0, 1201, 1800, store.revision]) expect(await store.hashYielding(revision)).toEqual(store.hash(revision));
    await expect(store.hashYielding(store.revision + 1)).rejects.toBeInstanceOf(FutureRevisionError);
    await expect(store.hashYielding(1200)).rejects.toBeInstanceOf(CompactedRevisionError);
  });

  it('refuses, as compacted, a hash whose revision a compaction passed while the store was persisted', async () => {
    const store = await storeWithHistory(100);
    const at = store.revision;
    const hashing = store.hashYielding(); // the current revision, `at`
    put(store, 'later', 'x');
    store.compact(at + 1);
    await expect(hashing).rejects.toBeInstanceOf(CompactedRevisionError);
  });

  it('reads the values over several turns of the event loop, and a compaction meanwhile does not change the answer', async () => {
    const store = await storeWithHistory(3500);
    await store.persist();
    const expected = store.hash();
    // Count the event loop's turns, and note the turn of each value read.
    const turnsRead = new Set<number>();
    let turn = 0;
    let hashing = true;
    let compacted = false;
    const spin = (): void => {
      turn++;
      // A compaction applied mid-hash, once the first values were read: it removes superseded
      // records from the index and deletes their values.
      if (!compacted && turnsRead.size > 0) {
        store.compact(store.revision - 1);
        void store.persist(); // the deletions reach the database while the hash goes on
        compacted = true;
      }
      if (hashing) setImmediate(spin);
    };
    const values = (store as unknown as { values: { read: (...args: unknown[]) => Uint8Array } }).values;
    const read = values.read.bind(values);
    values.read = (...args) => {
      turnsRead.add(turn);
      return read(...args);
    };
    const hashing$ = store.hashYielding();
    setImmediate(spin);
    const result = await hashing$;
    hashing = false;
    expect(compacted).toBe(true);
    expect(result.hash).toBe(expected.hash);
    expect(turnsRead.size).toBeGreaterThanOrEqual(4); // 3,501 records, 1,000 a turn
    // The compaction happened and took values away: the synchronous hash now differs.
    expect(store.hash().hash).not.toBe(expected.hash);
  });
});
