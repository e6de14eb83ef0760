import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../../src/mvcc/key-index.js';
import { StoredRecord } from '../../src/mvcc/stored-record.js';
import { crc32, crc32Update } from '../../src/mvcc/codec.js';

const KEY = 'k';

function putRecord(main: number, sub = 0): StoredRecord {
  return new StoredRecord(KEY, main, sub, 0, 0, 0n, `v${main}.${sub}`.length, false);
}
function tombRecord(main: number, sub = 0): StoredRecord {
  return new StoredRecord(KEY, main, sub, 0, 0, 0n, 0, true);
}
const mains = (records: Iterable<StoredRecord>): number[] => [...records].map((record) => record.main);

describe('KeyIndex', () => {
  // put 2, put 3, delete 4, put 6, put 8: generations [2,3,4†] [6,8]
  function history(): KeyIndex {
    const index = new KeyIndex(KEY);
    for (const record of [putRecord(2), putRecord(3), tombRecord(4), putRecord(6), putRecord(8)]) index.append(record);
    return index;
  }

  it('splits history into generations at tombstones', () => {
    expect(history().generationList().map(mains)).toEqual([[2, 3, 4], [6, 8]]);
  });

  it('answers the record visible at each revision; tombstones hide the key', () => {
    const index = history();
    expect(index.at(1)).toBeUndefined();
    expect(index.at(2)?.main).toBe(2);
    expect(index.at(3)?.main).toBe(3);
    expect(index.at(4)).toBeUndefined();
    expect(index.at(5)).toBeUndefined();
    expect(index.at(7)?.main).toBe(6);
    expect(index.at(100)?.main).toBe(8);
  });

  it('refuses out-of-order records and tombstones of dead keys', () => {
    const index = history();
    expect(() => index.append(putRecord(8))).toThrow(/invariant/);
    const dead = new KeyIndex(KEY);
    expect(() => dead.append(tombRecord(2))).toThrow(/invariant/);
  });

  it('compaction keeps the value at the compaction revision and drops tombstoned generations', () => {
    let index = history();
    expect(mains(index.compact(3))).toEqual([2]);
    expect(index.generationList().map(mains)).toEqual([[3, 4], [6, 8]]);

    index = history();
    expect(mains(index.compact(4))).toEqual([2, 3, 4]);
    expect(index.generationList().map(mains)).toEqual([[6, 8]]);

    index = history();
    expect(mains(index.compact(7))).toEqual([2, 3, 4]);
    expect(index.generationList().map(mains)).toEqual([[6, 8]]);
    expect(index.at(7)?.main).toBe(6);

    index = history();
    index.compact(9);
    expect(index.generationList().map(mains)).toEqual([[8]]);
  });

  it('a key whose last record is a tombstone at or below the compaction disappears', () => {
    const index = new KeyIndex(KEY);
    index.append(putRecord(2));
    index.append(tombRecord(3));
    index.compact(3);
    expect(index.isEmpty).toBe(true);
  });

  it('truncateFrom removes an abandoned transaction', () => {
    const index = history();
    index.append(tombRecord(9, 0));
    index.append(putRecord(9, 1));
    expect(index.truncateFrom(9).map((record) => record.sub)).toEqual([0, 1]);
    expect(index.generationList().map(mains)).toEqual([[2, 3, 4], [6, 8]]);
  });
});

describe('crc32', () => {
  it('matches the IEEE check value and chains', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Update(crc32(Buffer.from('1234')), Buffer.from('56789'))).toBe(0xcbf43926);
  });
});
