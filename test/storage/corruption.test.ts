import { describe, expect, it } from 'vitest';
import { entryKey, HARD_STATE_KEY, IDENTITY_KEY, SNAPSHOT_KEY } from '../../src/storage/keys.js';
import { Wal, WalCorruptError } from '../../src/storage/index.js';
import { IDENTITY, captureLogger, entries, entry, tempDataDir, withRawDb } from './helpers.js';

/** Entries 1..5 of term 1, committed through 3. */
async function logCommittedThrough3(): Promise<string> {
  const dataDir = tempDataDir();
  const wal = await Wal.open(dataDir, IDENTITY);
  await wal.save({ hardState: { term: 1, vote: 1, commit: 3 }, entries: entries(1, 5, 1), snapshot: null }, true);
  await wal.close();
  return dataDir;
}

type Damage = (value: Buffer) => Buffer;
const flipLastByte: Damage = (value) => Buffer.concat([value.subarray(0, -1), Buffer.from([value[value.length - 1] ^ 0xff])]);
const truncate: Damage = (value) => value.subarray(0, 3);
const garbage: Damage = () => Buffer.from('not a record at all');

async function damage(dataDir: string, key: Buffer, how: Damage): Promise<void> {
  await withRawDb(dataDir, async (db) => {
    const value = await db.get(key);
    expect(value).toBeDefined();
    await db.put(key, how(value!));
  });
}

describe('Wal torn tail', () => {
  for (const [name, how] of [['a flipped byte', flipLastByte], ['a truncated record', truncate], ['garbage', garbage]] as const) {
    it(`drops an uncommitted last entry with ${name}, with a warning`, async () => {
      const dataDir = await logCommittedThrough3();
      await damage(dataDir, entryKey(5), how);
      const logger = captureLogger();
      const wal = await Wal.open(dataDir, IDENTITY, { logger });
      expect(wal.storage.lastIndex()).toBe(4);
      expect(wal.storage.entries(1, 5, Infinity)).toEqual(entries(1, 4, 1));
      expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', object: expect.objectContaining({ from: 5, droppedRecords: 1 }) }));
      await wal.close();
    });
  }

  it('drops everything from the first damaged uncommitted entry, from disk too', async () => {
    const dataDir = await logCommittedThrough3();
    await damage(dataDir, entryKey(4), flipLastByte);
    const first = await Wal.open(dataDir, IDENTITY);
    expect(first.storage.lastIndex()).toBe(3);
    // Entry 5 was intact but is gone: appending only 4 again must not bring the old 5 back.
    await first.save({ hardState: null, entries: [entry(4, 2)], snapshot: null }, true);
    await first.close();
    const again = await Wal.open(dataDir, IDENTITY);
    expect(again.storage.lastIndex()).toBe(4);
    expect(again.storage.term(4)).toBe(2);
    await again.close();
  });

  it('refuses to open when a committed entry is damaged, and keeps refusing', async () => {
    const dataDir = await logCommittedThrough3();
    await damage(dataDir, entryKey(3), flipLastByte);
    for (let attempt = 0; attempt < 2; attempt++) {
      const opening = Wal.open(dataDir, IDENTITY);
      await expect(opening).rejects.toBeInstanceOf(WalCorruptError);
      await expect(opening).rejects.toMatchObject({ code: 'WAL_CORRUPT', message: expect.stringContaining('entry 3') });
    }
  });

  it('refuses to open when a committed entry is missing', async () => {
    const dataDir = await logCommittedThrough3();
    await withRawDb(dataDir, (db) => db.del(entryKey(2)));
    await expect(Wal.open(dataDir, IDENTITY)).rejects.toThrow(/entry 2 is missing/);
  });

  it('refuses to open when an entry record was moved under another index', async () => {
    const dataDir = await logCommittedThrough3();
    await withRawDb(dataDir, async (db) => db.put(entryKey(2), (await db.get(entryKey(1)))!));
    await expect(Wal.open(dataDir, IDENTITY)).rejects.toBeInstanceOf(WalCorruptError);
  });

  for (const [name, key] of [['hard state', HARD_STATE_KEY], ['identity', IDENTITY_KEY]] as const) {
    it(`refuses to open when the ${name} record is damaged`, async () => {
      const dataDir = await logCommittedThrough3();
      await damage(dataDir, key, flipLastByte);
      await expect(Wal.open(dataDir, IDENTITY)).rejects.toBeInstanceOf(WalCorruptError);
      await expect(Wal.open(dataDir, null)).rejects.toBeInstanceOf(WalCorruptError);
    });
  }

  it('refuses to open when the snapshot record is damaged', async () => {
    const dataDir = await logCommittedThrough3();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array([1, 2, 3]));
    await wal.close();
    await damage(dataDir, SNAPSHOT_KEY, flipLastByte);
    await expect(Wal.open(dataDir, IDENTITY)).rejects.toBeInstanceOf(WalCorruptError);
  });

  it('refuses to open when the hard state commits beyond the entries that are left', async () => {
    const dataDir = await logCommittedThrough3();
    await withRawDb(dataDir, async (db) => {
      await db.del(entryKey(5));
      await db.del(entryKey(4));
      await db.del(entryKey(3));
    });
    await expect(Wal.open(dataDir, IDENTITY)).rejects.toThrow(/commit index 3 is beyond the last entry 2/);
  });
});
