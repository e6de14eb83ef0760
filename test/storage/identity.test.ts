import { mkdirSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Wal, WalIdentityMismatchError, WalNotFoundError } from '../../src/storage/index.js';
import { IDENTITY, captureLogger, entries, tempDataDir, walDir, withRawDb } from './helpers.js';

/**
 * Every record in the log's database, as hex. LevelDB itself rewrites its files on every open
 * (a fresh log file, a new manifest), so "untouched" is judged on the records it holds.
 */
async function records(dataDir: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  await withRawDb(dataDir, async (db) => {
    for await (const [key, value] of db.iterator()) out.push([key.toString('hex'), value.toString('hex')]);
  });
  return out;
}

async function populatedDataDir(): Promise<string> {
  const dataDir = tempDataDir();
  const wal = await Wal.open(dataDir, IDENTITY);
  await wal.save({ hardState: { term: 1, vote: 1, commit: 2 }, entries: entries(1, 3, 1), snapshot: null }, true);
  await wal.close();
  return dataDir;
}

describe('Wal identity', () => {
  for (const [what, other] of [
    ['member id', { ...IDENTITY, memberId: IDENTITY.memberId + 1 }],
    ['cluster id', { ...IDENTITY, clusterId: IDENTITY.clusterId + 1 }],
  ] as const) {
    it(`refuses a log recorded with another ${what}, naming both, and changes no record`, async () => {
      const dataDir = await populatedDataDir();
      const before = await records(dataDir);
      expect(before.length).toBeGreaterThan(4);
      const opening = Wal.open(dataDir, other);
      await expect(opening).rejects.toBeInstanceOf(WalIdentityMismatchError);
      const error = (await opening.catch((e: unknown) => e)) as WalIdentityMismatchError;
      expect(error.code).toBe('WAL_IDENTITY_MISMATCH');
      expect(error.stored).toEqual(IDENTITY);
      expect(error.expected).toEqual(other);
      expect(error.message).toContain(IDENTITY.memberId.toString(16));
      expect(error.message).toContain(other.clusterId.toString(16));
      expect(await records(dataDir)).toEqual(before);
      const reopened = await Wal.open(dataDir, IDENTITY);
      expect(reopened.storage.lastIndex()).toBe(3);
      await reopened.close();
    });
  }

  it('accepts a renamed member with the same ids, with a warning', async () => {
    const dataDir = await populatedDataDir();
    const logger = captureLogger();
    const wal = await Wal.open(dataDir, { ...IDENTITY, name: 'renamed' }, { logger });
    expect(wal.identity).toEqual(IDENTITY);
    expect(logger.lines.some((line) => line.level === 'warn')).toBe(true);
    await wal.close();
  });

  it('without an identity, refuses a data dir that holds no log and creates nothing', async () => {
    const dataDir = tempDataDir();
    await expect(Wal.open(dataDir, null)).rejects.toBeInstanceOf(WalNotFoundError);
    await expect(Wal.open(dataDir, null)).rejects.toMatchObject({ code: 'WAL_NOT_FOUND' });
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('without an identity, refuses an empty log directory', async () => {
    const dataDir = tempDataDir();
    mkdirSync(walDir(dataDir), { recursive: true });
    await expect(Wal.open(dataDir, null)).rejects.toBeInstanceOf(WalNotFoundError);
  });
});
