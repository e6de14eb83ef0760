// A key's lease is any int64 and survives persistence and snapshots exactly; records whose
// lease a double holds keep the layout earlier versions wrote (and read).

import { describe, expect, it } from 'vitest';
import { crc32, decodeRecord, encodeRecord, type RevisionRecord } from '../../src/mvcc/codec.js';
import { ALL, NONE, b, installCopy, openStore, put, tempDir } from './helpers.js';

const WIDE = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 53n) - 1n];
const NARROW = [0n, 1n, -1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n];

const leasesOf = (store: Awaited<ReturnType<typeof openStore>>): Array<[string, bigint]> =>
  store.range(NONE, ALL).kvs.map((kv) => [Buffer.from(kv.key).toString(), kv.lease]);

function record(lease: bigint): RevisionRecord {
  return { revision: { main: 3, sub: 0 }, tombstone: false, kv: { key: b('k'), value: b('v'), createRevision: 2, modRevision: 3, version: 2, lease } };
}

/** A record as versions before 64-bit lease IDs wrote it: the lease a double, flag bit 1 never set. */
function oldRecord(lease: number): Buffer {
  const bytes = Buffer.alloc(4 + 1 + 32 + 4 + 2);
  bytes.writeUInt8(0, 4);
  bytes.writeDoubleBE(2, 5);
  bytes.writeDoubleBE(3, 13);
  bytes.writeDoubleBE(2, 21);
  bytes.writeDoubleBE(lease, 29);
  bytes.writeUInt32BE(1, 37);
  bytes.write('kv', 41, 'latin1');
  bytes.writeUInt32BE(crc32(bytes.subarray(4)), 0);
  return bytes;
}

describe('record codec', () => {
  it('round-trips every int64 lease exactly', () => {
    for (const lease of [...WIDE, ...NARROW]) expect(decodeRecord({ main: 3, sub: 0 }, encodeRecord(record(lease))).kv.lease).toBe(lease);
  });

  it('writes a lease a double holds exactly as before, and reads records written before', () => {
    for (const lease of NARROW) {
      expect(encodeRecord(record(lease)).equals(oldRecord(Number(lease))), String(lease)).toBe(true);
      expect(decodeRecord({ main: 3, sub: 0 }, oldRecord(Number(lease))).kv).toMatchObject({ key: b('k'), value: b('v'), lease });
    }
  });
});

describe('store', () => {
  it('keeps every int64 lease exactly across persist and reopen, and through a snapshot', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const expected: Array<[string, bigint]> = [];
    for (const lease of [...WIDE, ...NARROW]) {
      put(store, `k${lease}`, 'v', lease);
      expected.push([`k${lease}`, lease]);
    }
    expected.sort(([x], [y]) => (x < y ? -1 : 1));
    expect(leasesOf(store)).toEqual(expected);
    await store.persist(9);
    await store.close();
    const reopened = await openStore(dir);
    expect(leasesOf(reopened)).toEqual(expected);
    const restored = await openStore();
    await installCopy(reopened, restored);
    expect(leasesOf(restored)).toEqual(expected);
  });
});
