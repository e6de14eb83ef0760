// Where a store's database lives on disk, and how a staged copy replaces it with no moment in
// which the store cannot be read.
//
// A store is named by a path, `<data-dir>/member/kv`. Its database is the directory `kv` itself
// until the first snapshot install. A snapshot is staged beside it, in `kv.db-<random>` (same
// filesystem), and installed by pointing `kv.current` at it: a small file naming the active
// database directory, written to `kv.current.tmp`, fsync'd, renamed over `kv.current`, and the
// parent directory fsync'd. A database directory is never renamed while it is open (LevelDB opens
// its files by path, so a renamed open database would write into the wrong directory), so the
// staged copy is opened and loaded where it was written while the old one keeps serving:
//
//   1. load the staged copy aside     2. switch kv.current (durable)     3. remove the old database
//
// A crash leaves one of these, and recoverStoreDirectory (run before every open) settles it: it
// reads kv.current (absent: the database is `kv`) and removes every other database directory of
// the store and a half-written pointer. So the store is the old database or the new one, whole.

import { randomBytes } from 'node:crypto';
import { open as openFile, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MvccCorruptError } from './errors.js';
import { syncDirectory } from './store-dump.js';

const STAGING_INFIX = '.db-';
const POINTER_SUFFIX = '.current';
const POINTER_TEMP_SUFFIX = '.current.tmp';

/** A fresh name for a staged copy of the store named `storeDirectory` (nothing is created). */
export function newStagingDirectory(storeDirectory: string): string {
  return `${storeDirectory}${STAGING_INFIX}${randomBytes(6).toString('hex')}`;
}

/** Whether `candidate` is a staged (or, after an install, active) database of the store `storeDirectory`. */
export function isStagingDirectoryOf(storeDirectory: string, candidate: string): boolean {
  return dirname(candidate) === dirname(storeDirectory) && basename(candidate).startsWith(basename(storeDirectory) + STAGING_INFIX);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The active database directory of the store, as kv.current says (absent: the store's own path). */
async function readActive(storeDirectory: string): Promise<string> {
  let name: string;
  try {
    name = (await readFile(storeDirectory + POINTER_SUFFIX, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return storeDirectory;
    throw error;
  }
  const active = join(dirname(storeDirectory), name);
  if (!isStagingDirectoryOf(storeDirectory, active) || !(await exists(active))) {
    throw new MvccCorruptError(`${storeDirectory + POINTER_SUFFIX} names "${name}", which is not a database of this store`);
  }
  return active;
}

/**
 * Settles what an interrupted install or transfer left (see the top of this file) and returns the
 * active database directory, with the directories it removed.
 */
export async function recoverStoreDirectory(storeDirectory: string): Promise<{ active: string; removed: string[] }> {
  const parent = dirname(storeDirectory);
  const active = await readActive(storeDirectory);
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = await readdir(parent);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  for (const name of names) {
    const path = join(parent, name);
    if (path === active) continue;
    const stale = isStagingDirectoryOf(storeDirectory, path) || path === storeDirectory || path === storeDirectory + POINTER_TEMP_SUFFIX;
    if (!stale) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  if (removed.length > 0) await syncDirectory(parent);
  return { active, removed };
}

/** Called after each durable step of an install: for tests and failpoints that crash there. */
export type InstallStepHook = (step: 'loaded' | 'switched') => Promise<void>;

/**
 * Makes `stagedDirectory` (complete, synced) the store's active database, durably: the pointer is
 * written aside, fsync'd, renamed into place and the parent directory fsync'd. The caller removes
 * the old database once nothing reads it.
 */
export async function switchActiveStore(storeDirectory: string, stagedDirectory: string): Promise<void> {
  if (!isStagingDirectoryOf(storeDirectory, stagedDirectory)) throw new MvccCorruptError(`${stagedDirectory} is not a staged database of ${storeDirectory}`);
  const temporary = storeDirectory + POINTER_TEMP_SUFFIX;
  const handle = await openFile(temporary, 'w');
  try {
    await handle.writeFile(basename(stagedDirectory) + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, storeDirectory + POINTER_SUFFIX);
  await syncDirectory(dirname(storeDirectory));
}
