// Rebuilding a member's in-memory log (a MemoryStorage) from disk at open.
//
// What is committed must come back exactly or not at all: damage to the hard state, the snapshot,
// the log start or any entry at or below the commit point refuses the open (WalCorruptError).
// Entries after the commit point were never promised to anyone beyond this member's own
// acknowledgements, which a damaged record could not have backed; a damaged or missing record
// there is a torn tail: it and everything after it is dropped, from disk too, with a warning.

import { MemoryStorage, emptyHardState, emptySnapshot, type Entry, type HardState, type Snapshot } from '../raft/index.js';
import type { WalDb } from './db.js';
import { WalCorruptError } from './errors.js';
import { HARD_STATE_KEY, LOG_START_KEY, SNAPSHOT_KEY, entryRangeAfter, indexOfEntryKey } from './keys.js';
import type { WalLogger } from './logger.js';
import {
  DamagedRecordError,
  decodeEntryRecord,
  decodeHardStateRecord,
  decodeLogStartRecord,
  decodeSnapshotRecord,
  type LogStart,
} from './records.js';
import { keptEntry } from './kept-entry.js';

type Damage = { readonly index: number; readonly reason: string; readonly cause: unknown };

interface Scan {
  /** The contiguous, intact entries after the log start. */
  readonly entries: Entry[];
  /** Where the intact run ended early, and why; null when every entry key was read. */
  readonly damage: Damage | null;
  /** Keys from the damage on, to drop. */
  readonly keysAfterDamage: Buffer[];
}

export async function recoverLog(db: WalDb, dir: string, logger: WalLogger): Promise<MemoryStorage> {
  const hardState = (await readRecord(db, dir, HARD_STATE_KEY, 'hard state', decodeHardStateRecord)) ?? emptyHardState;
  const snapshot = (await readRecord(db, dir, SNAPSHOT_KEY, 'snapshot', decodeSnapshotRecord)) ?? emptySnapshot();
  const start = (await readRecord(db, dir, LOG_START_KEY, 'log start', decodeLogStartRecord)) ?? { index: 0, term: 0 };
  checkStart(dir, start, snapshot);
  const scan = await scanEntries(db, start);
  const committed = Math.max(hardState.commit, snapshot.metadata.index);
  checkCommittedIntact(dir, scan, start.index + scan.entries.length, hardState.commit, snapshot.metadata.index);
  const storage = rebuild(dir, hardState, snapshot, start, scan.entries);
  // Only once everything else checked out: a log that refuses to open is left exactly as found.
  if (scan.damage !== null) await dropTornTail(db, dir, logger, scan.damage, scan.keysAfterDamage, committed);
  return storage;
}

/** Everything up to the commit point and the snapshot must have been read intact. */
function checkCommittedIntact(dir: string, scan: Scan, lastIndex: number, commit: number, snapshotIndex: number): void {
  const committed = Math.max(commit, snapshotIndex);
  if (scan.damage !== null && scan.damage.index <= committed) {
    throw new WalCorruptError(dir, `${scan.damage.reason}, at or below the commit point ${committed}`, { cause: scan.damage.cause });
  }
  if (commit > lastIndex) throw new WalCorruptError(dir, `commit index ${commit} is beyond the last entry ${lastIndex}`);
  if (snapshotIndex > lastIndex) throw new WalCorruptError(dir, `snapshot ${snapshotIndex} is beyond the last entry ${lastIndex}`);
}

async function readRecord<T>(db: WalDb, dir: string, key: Buffer, what: string, decode: (value: Uint8Array) => T): Promise<T | null> {
  const value = await db.get(key);
  if (value === undefined) return null;
  try {
    return decode(value);
  } catch (error) {
    if (error instanceof DamagedRecordError) throw new WalCorruptError(dir, `the ${what} record is damaged (${error.message})`, { cause: error });
    throw error;
  }
}

/** Compaction never passes the snapshot, so the log starts at or before it. */
function checkStart(dir: string, start: LogStart, snapshot: Snapshot): void {
  const { index, term } = snapshot.metadata;
  if (start.index > index) throw new WalCorruptError(dir, `the log starts after ${start.index}, beyond the snapshot at ${index}`);
  if (start.index === index && start.term !== term) {
    throw new WalCorruptError(dir, `the log start (${start.index}, term ${start.term}) disagrees with the snapshot's term ${term}`);
  }
}

async function scanEntries(db: WalDb, start: LogStart): Promise<Scan> {
  const entries: Entry[] = [];
  const keysAfterDamage: Buffer[] = [];
  let damage: Damage | null = null;
  for await (const [key, value] of db.iterator(entryRangeAfter(start.index))) {
    if (damage === null) damage = readEntry(key, value, start.index + entries.length + 1, entries);
    if (damage !== null) keysAfterDamage.push(key);
  }
  return { entries, damage, keysAfterDamage };
}

/** Appends the entry stored under `key` to `entries` if it is the intact `expected` one; else says why not. */
function readEntry(key: Buffer, value: Buffer, expected: number, entries: Entry[]): Damage | null {
  const index = indexOfEntryKey(key);
  if (index !== expected) return { index: expected, reason: index === null ? 'a malformed entry key' : `entry ${expected} is missing`, cause: null };
  try {
    entries.push(keptEntry(decodeEntryRecord(value, index)));
    return null;
  } catch (error) {
    if (!(error instanceof DamagedRecordError)) throw error;
    return { index, reason: `entry ${index} is damaged (${error.message})`, cause: error };
  }
}

async function dropTornTail(db: WalDb, dir: string, logger: WalLogger, damage: Damage, keys: Buffer[], committed: number): Promise<void> {
  // Deleted, not just skipped: a later append that stops short of these keys must not revive them.
  await db.batch(keys.map((key) => ({ type: 'del' as const, key })), { sync: true });
  logger.warn(
    { dir, from: damage.index, droppedRecords: keys.length, committed, reason: damage.reason },
    'dropped a torn tail of uncommitted entries from the write-ahead log',
  );
}

/**
 * MemoryStorage is built only through its own operations, so the result is the state the member had
 * before it stopped: the log start as the dummy, the entries after it, then the snapshot (which may
 * lie after the start when compaction kept entries behind it for slow followers).
 */
function rebuild(dir: string, hardState: HardState, snapshot: Snapshot, start: LogStart, entries: Entry[]): MemoryStorage {
  const storage = new MemoryStorage();
  const { index, term, confState } = snapshot.metadata;
  if (start.index === index) storage.applySnapshot(snapshot);
  else if (start.index > 0) storage.applySnapshot({ metadata: { index: start.index, term: start.term, confState }, data: new Uint8Array(0) });
  storage.append(entries);
  if (index > start.index) {
    if (storage.term(index) !== term) throw new WalCorruptError(dir, `snapshot ${index} has term ${term} but entry ${index} has term ${storage.term(index)}`);
    storage.createSnapshot(index, confState, snapshot.data);
  }
  storage.setHardState(hardState);
  return storage;
}
