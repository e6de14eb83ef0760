import { describe, expect, it } from 'vitest';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InvariantViolatedError, MemoryStorage, type Snapshot } from '../../src/raft/index.js';
import { MAX_ENTRY_BYTES, Wal, WalLimitExceededError, WalLockedError } from '../../src/storage/index.js';
import { IDENTITY, captureLogger, entries, entry, tempDataDir, view, walDir } from './helpers.js';
import { ClassicLevel } from 'classic-level';

const SNAPSHOT_AT_5: Snapshot = {
  metadata: { index: 5, term: 2, confState: { voters: [1, 2, 3], learners: [4] } },
  data: new Uint8Array([1, 2, 3, 4]),
};

describe('Wal round trip', () => {
  it("keeps an entry's data apart from the buffer it arrived in, so the in-memory log does not hold that buffer alive", async () => {
    const wal = await Wal.open(tempDataDir(), IDENTITY);
    // As a peer's batch of messages, or a proposal in the shared buffer pool: the data is a slice.
    const arrivedIn = new Uint8Array(1024 * 1024).fill(7);
    const data = arrivedIn.subarray(4096, 4096 + 300);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: [{ ...entry(1, 1), data }], snapshot: null }, true);
    const [kept] = wal.storage.entries(1, 2, Number.MAX_SAFE_INTEGER);
    expect(kept.data).toEqual(data);
    expect(kept.data.buffer).not.toBe(arrivedIn.buffer);
    expect(kept.data.buffer.byteLength).toBeLessThan(arrivedIn.byteLength);
    await wal.close();
  });

  it('brings back entries, hard state and a leader snapshot after close and reopen', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    expect(wal.isNew).toBe(true);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 3, 1), snapshot: null }, true);
    await wal.save({ hardState: { term: 2, vote: 2, commit: 5 }, entries: entries(6, 8, 2), snapshot: SNAPSHOT_AT_5 }, true);
    await wal.save({ hardState: { term: 2, vote: 2, commit: 7 }, entries: [entry(9, 2, '')], snapshot: null }, false);
    const before = view(wal.storage);
    await wal.close();

    const reopened = await Wal.open(dataDir, IDENTITY);
    expect(reopened.isNew).toBe(false);
    expect(reopened.identity).toEqual(IDENTITY);
    expect(view(reopened.storage)).toEqual(before);
    expect(reopened.storage.firstIndex()).toBe(6);
    expect(reopened.storage.lastIndex()).toBe(9);
    expect(reopened.storage.term(5)).toBe(2);
    expect(reopened.storage.initialState()).toEqual({ hardState: { term: 2, vote: 2, commit: 7 }, confState: SNAPSHOT_AT_5.metadata.confState });
    expect(reopened.storage.snapshot()).toEqual(SNAPSHOT_AT_5);
    await reopened.close();
  });

  it('reopens with identity null as the member recorded at creation', async () => {
    const dataDir = tempDataDir();
    await (await Wal.open(dataDir, IDENTITY)).close();
    const reopened = await Wal.open(dataDir, null);
    expect(reopened.identity).toEqual(IDENTITY);
    // Only raft state makes a member old: a crash between creating the log and bootstrapping must bootstrap again.
    expect(reopened.isNew).toBe(true);
    await reopened.close();
  });

  it('keeps the in-memory copy identical to a MemoryStorage given the same operations', async () => {
    const wal = await Wal.open(tempDataDir(), IDENTITY);
    const reference = new MemoryStorage();
    const steps = [
      { hardState: { term: 1, vote: 1, commit: 2 }, entries: entries(1, 4, 1), snapshot: null },
      { hardState: null, entries: entries(3, 6, 2), snapshot: null },
      { hardState: { term: 3, vote: 3, commit: 5 }, entries: [], snapshot: SNAPSHOT_AT_5 },
      { hardState: null, entries: entries(4, 7, 3), snapshot: null }, // 4 and 5 are behind the snapshot
    ];
    for (const step of steps) {
      await wal.save(step, true);
      if (step.snapshot !== null) reference.applySnapshot(step.snapshot);
      reference.append(step.entries);
      if (step.hardState !== null) reference.setHardState(step.hardState);
      expect(view(wal.storage)).toEqual(view(reference));
    }
    await wal.close();
  });
});

describe('Wal overwrite', () => {
  it('keeps exactly 1..7 when entries 5..7 of a new term follow 1..10', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 4 }, entries: entries(1, 10, 1), snapshot: null }, true);
    await wal.save({ hardState: { term: 2, vote: 2, commit: 4 }, entries: entries(5, 7, 2), snapshot: null }, true);
    await wal.close();

    const reopened = await Wal.open(dataDir, IDENTITY);
    const log = reopened.storage;
    expect([log.firstIndex(), log.lastIndex()]).toEqual([1, 7]);
    expect(log.entries(1, 8, Infinity)).toEqual([...entries(1, 4, 1), ...entries(5, 7, 2)]);
    await reopened.close();
  });
});

describe('Wal snapshots and compaction', () => {
  it('after createSnapshot and compact, reopens at compact+1 with the snapshot and the entries after it', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 10 }, entries: [...entries(1, 5, 1), ...entries(6, 12, 2)], snapshot: null }, true);
    const confState = { voters: [1, 2, 3], learners: [] };
    const snapshot = await wal.createSnapshot(8, confState, new Uint8Array([9, 9]));
    expect(snapshot.metadata).toEqual({ index: 8, term: 2, confState });
    // Entries before the snapshot are kept for slow followers: compaction stops short of it.
    await wal.compact(4);
    const before = view(wal.storage);
    await wal.close();

    const reopened = await Wal.open(dataDir, IDENTITY);
    const log = reopened.storage;
    expect(log.firstIndex()).toBe(5);
    expect(log.term(4)).toBe(1);
    expect(log.lastIndex()).toBe(12);
    expect(log.snapshot()).toEqual(snapshot);
    expect(log.entries(5, 13, Infinity)).toEqual([entry(5, 1), ...entries(6, 12, 2)]);
    expect(view(log)).toEqual(before);

    await reopened.compact(8);
    await reopened.close();
    const again = await Wal.open(dataDir, IDENTITY);
    expect([again.storage.firstIndex(), again.storage.lastIndex(), again.storage.term(8)]).toEqual([9, 12, 2]);
    expect(again.storage.snapshot()).toEqual(snapshot);
    await again.close();
  });

  it('refuses to compact beyond the snapshot, which would lose entries no snapshot covers', async () => {
    const wal = await Wal.open(tempDataDir(), IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 5 }, entries: entries(1, 5, 1), snapshot: null }, true);
    await wal.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array());
    await expect(wal.compact(3)).rejects.toBeInstanceOf(InvariantViolatedError);
    await wal.close();
  });
});

describe('Wal guards', () => {
  it('refuses an entry over MAX_ENTRY_BYTES and writes nothing of that save', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    const huge = { index: 2, term: 1, type: 0 as const, data: new Uint8Array(MAX_ENTRY_BYTES + 1) };
    const save = wal.save({ hardState: null, entries: [entry(1, 1), huge], snapshot: null }, true);
    await expect(save).rejects.toMatchObject({ code: 'WAL_LIMIT_EXCEEDED' });
    await expect(save).rejects.toBeInstanceOf(WalLimitExceededError);
    await wal.close();
    const reopened = await Wal.open(dataDir, IDENTITY);
    expect(reopened.storage.lastIndex()).toBe(0);
    await reopened.close();
  });

  it('refuses overlapping saves', async () => {
    const wal = await Wal.open(tempDataDir(), IDENTITY);
    const first = wal.save({ hardState: null, entries: entries(1, 3, 1), snapshot: null }, true);
    await expect(wal.save({ hardState: null, entries: entries(4, 4, 1), snapshot: null }, true)).rejects.toBeInstanceOf(InvariantViolatedError);
    await first;
    expect(wal.storage.lastIndex()).toBe(3);
    await wal.close();
  });

  it('refuses entries that would leave a gap in the log', async () => {
    const wal = await Wal.open(tempDataDir(), IDENTITY);
    await wal.save({ hardState: null, entries: entries(1, 3, 1), snapshot: null }, true);
    await expect(wal.save({ hardState: null, entries: entries(5, 6, 1), snapshot: null }, true)).rejects.toBeInstanceOf(InvariantViolatedError);
    await wal.close();
  });

  it('refuses a second open of a log that is open', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await expect(Wal.open(dataDir, IDENTITY)).rejects.toBeInstanceOf(WalLockedError);
    await wal.close();
  });

  it('logs where it opened and what it found', async () => {
    const logger = captureLogger();
    const wal = await Wal.open(tempDataDir(), IDENTITY, { logger });
    expect(logger.lines).toEqual([expect.objectContaining({ level: 'info', message: 'opened the write-ahead log' })]);
    await wal.close();
  });
});

describe('Wal commit index held back', () => {
  /** What a crash right now would leave: the open database's files copied and opened elsewhere. */
  async function diskCommit(dataDir: string): Promise<{ commit: number; snapshotIndex: number }> {
    const copy = tempDataDir();
    cpSync(join(dataDir, 'member'), join(copy, 'member'), { recursive: true });
    rmSync(join(copy, 'member', 'wal', 'LOCK'), { force: true });
    const wal = await Wal.open(copy, IDENTITY);
    const state = { commit: wal.storage.getHardState().commit, snapshotIndex: wal.storage.snapshot().metadata.index };
    await wal.close();
    return state;
  }

  it('writes a commit-only advance with the next batch, not on its own', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 5, 1), snapshot: null }, true);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 3 }, entries: [], snapshot: null }, false);
    expect(wal.storage.getHardState().commit).toBe(3);
    expect((await diskCommit(dataDir)).commit).toBe(0);

    await wal.save({ hardState: null, entries: [entry(6, 1)], snapshot: null }, true);
    expect((await diskCommit(dataDir)).commit).toBe(3);
    await wal.close();
  });

  it('writes it at once when the term or vote changes or the caller asks for a sync', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 5, 1), snapshot: null }, true);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 2 }, entries: [], snapshot: null }, true);
    expect((await diskCommit(dataDir)).commit).toBe(2);
    await wal.save({ hardState: { term: 2, vote: 0, commit: 3 }, entries: [], snapshot: null }, false);
    expect((await diskCommit(dataDir)).commit).toBe(3);
    await wal.close();
  });

  it('writes it with a snapshot, whose index must never pass the commit on disk', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 5, 1), snapshot: null }, true);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 4 }, entries: [], snapshot: null }, false);
    await wal.createSnapshot(4, { voters: [1], learners: [] }, new Uint8Array([9]));
    expect(await diskCommit(dataDir)).toEqual({ commit: 4, snapshotIndex: 4 });
    await wal.close();
  });

  it('writes it on close', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 5, 1), snapshot: null }, true);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 5 }, entries: [], snapshot: null }, false);
    await wal.close();
    const reopened = await Wal.open(dataDir, IDENTITY);
    expect(reopened.storage.getHardState()).toEqual({ term: 1, vote: 1, commit: 5 });
    await reopened.close();
  });
});

describe('Wal compaction on disk', () => {
  it('deletes the compacted entries from the database, not only from memory', async () => {
    const dataDir = tempDataDir();
    const wal = await Wal.open(dataDir, IDENTITY);
    await wal.save({ hardState: { term: 1, vote: 1, commit: 100 }, entries: entries(1, 100, 1), snapshot: null }, true);
    await wal.createSnapshot(80, { voters: [1], learners: [] }, new Uint8Array(0));
    await wal.compact(80);
    await wal.close();
    const db = new ClassicLevel<Buffer, Buffer>(walDir(dataDir), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const entryKeys = (await db.keys({ gte: Buffer.from('e'), lt: Buffer.from('f') }).all()).length;
    await db.close();
    expect(entryKeys).toBe(20);
    const reopened = await Wal.open(dataDir, IDENTITY);
    expect([reopened.storage.firstIndex(), reopened.storage.lastIndex()]).toEqual([81, 100]);
    await reopened.close();
  });
});
