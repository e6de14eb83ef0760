import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/storage/crc32.js';
import { entryKey, indexOfEntryKey } from '../../src/storage/keys.js';

describe('crc32', () => {
  it('matches the published IEEE check values', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('changes when any single bit changes', () => {
    const bytes = Buffer.from('raftkv write-ahead log record');
    const original = crc32(bytes);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      expect(crc32(flipped)).not.toBe(original);
    }
  });
});

describe('entry keys', () => {
  it('sort in index order across the 32-bit boundary and round-trip', () => {
    const indexes = [1, 2, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1];
    const keys = indexes.map(entryKey);
    const sorted = [...keys].sort(Buffer.compare);
    expect(sorted).toEqual(keys);
    expect(keys.map(indexOfEntryKey)).toEqual(indexes);
    expect(indexOfEntryKey(Buffer.from('h'))).toBeNull();
  });
});
