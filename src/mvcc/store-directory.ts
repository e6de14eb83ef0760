// Where a store's database lives on disk, and how a staged copy replaces it. The store's directory
// (`<data-dir>/member/kv`) always holds one whole database: a staged copy is written beside it
// (`kv.staging-<random>`, same filesystem) and swapped in by two renames, each made durable with
// an fsync of the parent directory:
//
//   1. kv → kv.old       2. kv.staging-x → kv       3. remove kv.old
//
// A crash leaves one of these, and recoverStoreDirectory (run before every open) settles it:
//   - before 1: kv is the old store; staging leftovers are removed.
//   - between 1 and 2: no kv, kv.old present → kv.old goes back to kv (the old store).
//   - after 2: kv is the new store; kv.old is removed.
// So the store is either the old database or the new one, never a mix of the two.

import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from './store-dump.js';

const STAGING_INFIX = '.staging-';
const OLD_SUFFIX = '.old';

/** A fresh name for a staged copy of the store in `storeDirectory` (nothing is created). */
export function newStagingDirectory(storeDirectory: string): string {
  return `${storeDirectory}${STAGING_INFIX}${randomBytes(6).toString('hex')}`;
}

/** Whether `candidate` is a staging directory of the store in `storeDirectory`. */
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

/** Settles what an interrupted swap or transfer left (see the top of this file). */
export async function recoverStoreDirectory(storeDirectory: string): Promise<{ rolledBack: boolean; removed: string[] }> {
  const parent = dirname(storeDirectory);
  const old = storeDirectory + OLD_SUFFIX;
  let rolledBack = false;
  const removed: string[] = [];
  if (await exists(old)) {
    if (await exists(storeDirectory)) {
      await rm(old, { recursive: true, force: true });
      removed.push(old);
    } else {
      await rename(old, storeDirectory);
      rolledBack = true;
    }
  }
  let names: string[] = [];
  try {
    names = await readdir(parent);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  for (const name of names) {
    const path = join(parent, name);
    if (!isStagingDirectoryOf(storeDirectory, path)) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  if (rolledBack || removed.length > 0) await syncDirectory(parent);
  return { rolledBack, removed };
}

/** Called after each durable step of a swap: for tests and failpoints that crash there. */
export type SwapStepHook = (step: 'old-aside' | 'staged-in') => Promise<void>;

/**
 * Replaces the database in `storeDirectory` with the staged one (closed, synced) in `stagedDirectory`.
 * The caller has closed the store's database.
 */
export async function swapInStaged(storeDirectory: string, stagedDirectory: string, afterStep: SwapStepHook = async () => {}): Promise<void> {
  const parent = dirname(storeDirectory);
  const old = storeDirectory + OLD_SUFFIX;
  await rm(old, { recursive: true, force: true });
  await rename(storeDirectory, old);
  await syncDirectory(parent);
  await afterStep('old-aside');
  await rename(stagedDirectory, storeDirectory);
  await syncDirectory(parent);
  await afterStep('staged-in');
  await rm(old, { recursive: true, force: true });
}
