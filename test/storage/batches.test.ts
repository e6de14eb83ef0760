import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { Wal } from '../../src/storage/index.js';
import { IDENTITY, entries, tempDataDir } from './helpers.js';

// classic-level's own write primitives: every batch, put and del reaches the native binding through
// one of these (an array batch through _batch, a chained one through _chainedBatch).
type Primitive = (...args: unknown[]) => unknown;
type Primitives = { _batch: Primitive; _chainedBatch: Primitive; _put: Primitive; _del: Primitive };
const prototype = ClassicLevel.prototype as unknown as Primitives;

/** Counts the batches written either way. */
function spyOnBatches(): { calls: () => number } {
  const arrays = vi.spyOn(prototype, '_batch');
  const chained = vi.spyOn(prototype, '_chainedBatch');
  return { calls: () => arrays.mock.calls.length + chained.mock.calls.length };
}

afterEach(() => vi.restoreAllMocks());

describe('Wal writes one batch per save', () => {
  it('N saves of many entries are N batches, with no single puts or deletes', async () => {
    const wal = await Wal.open(tempDataDir(), IDENTITY);
    const batch = spyOnBatches();
    const put = vi.spyOn(prototype, '_put');
    const del = vi.spyOn(prototype, '_del');
    const saves = 20;
    const perSave = 50;
    for (let i = 0; i < saves; i++) {
      const first = i * perSave + 1;
      await wal.save({ hardState: { term: 1, vote: 1, commit: first - 1 }, entries: entries(first, first + perSave - 1, 1), snapshot: null }, true);
    }
    // An overwrite (puts and deletes of stale keys) and a snapshot install are one batch too.
    await wal.save({ hardState: null, entries: entries(990, 992, 2), snapshot: null }, true);
    await wal.save({ hardState: { term: 3, vote: 1, commit: 2000 }, entries: entries(2001, 2010, 3), snapshot: { metadata: { index: 2000, term: 3, confState: { voters: [1], learners: [] } }, data: new Uint8Array([7]) } }, true);
    expect(batch.calls()).toBe(saves + 2);
    expect(put).not.toHaveBeenCalled();
    expect(del).not.toHaveBeenCalled();
    expect(wal.storage.lastIndex()).toBe(2010);
    await wal.close();
  });

  it('a save with nothing to persist writes nothing', async () => {
    const wal = await Wal.open(tempDataDir(), IDENTITY);
    const batch = spyOnBatches();
    await wal.save({ hardState: null, entries: [], snapshot: null }, true);
    expect(batch.calls()).toBe(0);
    await wal.close();
  });
});
