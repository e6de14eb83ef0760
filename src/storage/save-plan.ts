// What one Ready becomes on disk: the puts and deletes of a single batch, worked out against the
// in-memory log before anything is written, so a save that would break the log is refused whole.
// The plan mirrors MemoryStorage's own rules (applySnapshot, then append, then setHardState), which
// keeps the disk and the in-memory copy identical.

import { assert, isEmptySnapshot, type Entry, type HardState, type MemoryStorage, type Snapshot } from '../raft/index.js';
import { WalLimitExceededError } from './errors.js';
import { HARD_STATE_KEY, LOG_START_KEY, SNAPSHOT_KEY, entryKey } from './keys.js';
import { MAX_ENTRY_BYTES, MAX_SAVE_BYTES, MAX_SNAPSHOT_BYTES } from './limits.js';
import { encodeEntryRecord, encodeHardStateRecord, encodeLogStartRecord, encodeSnapshotRecord } from './records.js';

/** The durable parts of one Ready. */
export interface SaveBatch {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
}

export type Operation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface SavePlan {
  readonly operations: Operation[];
  /** What to apply to the in-memory log once the batch is durable. */
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

export function planSave(log: MemoryStorage, batch: SaveBatch): SavePlan {
  checkLimits(batch);
  const operations: Operation[] = [];
  const snapshot = newerSnapshot(log, batch.snapshot);
  let first = log.firstIndex();
  let last = log.lastIndex();
  if (snapshot !== null) {
    // A snapshot from the leader replaces the whole log.
    deleteEntries(operations, first, last);
    const { index, term } = snapshot.metadata;
    operations.push(put(SNAPSHOT_KEY, encodeSnapshotRecord(snapshot)), put(LOG_START_KEY, encodeLogStartRecord({ index, term })));
    first = index + 1;
    last = index;
  }
  const entries = entriesToWrite(batch.entries, first, last);
  if (entries.length > 0) {
    const newLast = entries[entries.length - 1].index;
    deleteEntries(operations, newLast + 1, last); // a new leader overwrote this uncommitted suffix
    for (const entry of entries) operations.push(put(entryKey(entry.index), encodeEntryRecord(entry)));
    last = newLast;
  }
  const hardState = batch.hardState;
  if (hardState !== null) {
    // Checked here because a log whose commit point is beyond its end would not open again.
    assert(hardState.commit <= last, () => `hard state commits ${hardState.commit}, beyond the last entry ${last}`);
    operations.push(put(HARD_STATE_KEY, encodeHardStateRecord(hardState)));
  }
  checkSaveBytes(operations);
  return { operations, snapshot, entries, hardState };
}

/**
 * True when the batch changes nothing but the commit index, and only forwards: such a save writes
 * nothing (Wal.save holds the hard state back until the next write). Term and vote are promises to
 * other members and must be on disk before anyone hears of them; entries and snapshots are what
 * acknowledgements vouch for. The simulator's disk follows the same rule.
 */
export function onlyCommitAdvances(current: HardState, batch: SaveBatch): boolean {
  const hardState = batch.hardState;
  if (hardState === null || batch.entries.length > 0 || batch.snapshot !== null) return false;
  return hardState.term === current.term && hardState.vote === current.vote && hardState.commit >= current.commit;
}

/** Adds a `del` for every entry in [from, to] (none when from > to). */
export function deleteEntries(operations: Operation[], from: number, to: number): void {
  for (let index = from; index <= to; index++) operations.push({ type: 'del', key: entryKey(index) });
}

export function put(key: Buffer, value: Buffer): Operation {
  return { type: 'put', key, value };
}

/** MemoryStorage ignores a snapshot no newer than its own; so does the disk. */
function newerSnapshot(log: MemoryStorage, snapshot: Snapshot | null): Snapshot | null {
  if (snapshot === null || isEmptySnapshot(snapshot)) return null;
  return snapshot.metadata.index > log.snapshot().metadata.index ? snapshot : null;
}

/** The entries at or after `first`, checked to continue the log [first, last] without a gap. */
function entriesToWrite(entries: readonly Entry[], first: number, last: number): readonly Entry[] {
  if (entries.length === 0) return entries;
  const base = entries[0].index;
  entries.forEach((entry, i) => assert(entry.index === base + i, () => `entries to save are not contiguous at ${base + i}`));
  const fresh = base < first ? entries.slice(first - base) : entries;
  if (fresh.length > 0) assert(fresh[0].index <= last + 1, () => `saving entry ${fresh[0].index} would leave a gap after ${last}`);
  return fresh;
}

function checkLimits(batch: SaveBatch): void {
  for (const entry of batch.entries) {
    if (entry.data.byteLength > MAX_ENTRY_BYTES) throw new WalLimitExceededError(`entry ${entry.index}`, entry.data.byteLength, MAX_ENTRY_BYTES);
  }
  if (batch.snapshot !== null) checkSnapshotBytes(batch.snapshot.data);
}

export function checkSnapshotBytes(data: Uint8Array): void {
  if (data.byteLength > MAX_SNAPSHOT_BYTES) throw new WalLimitExceededError('snapshot data', data.byteLength, MAX_SNAPSHOT_BYTES);
}

function checkSaveBytes(operations: readonly Operation[]): void {
  let bytes = 0;
  for (const operation of operations) bytes += operation.key.length + (operation.type === 'put' ? operation.value.length : 0);
  if (bytes > MAX_SAVE_BYTES) throw new WalLimitExceededError('one save', bytes, MAX_SAVE_BYTES);
}
