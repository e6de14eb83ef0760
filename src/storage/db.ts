// Opening the classic-level database under a member's data directory, with its failures turned
// into the log's own error classes.

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';
import { WalCorruptError, WalLockedError, WalNotFoundError } from './errors.js';

export type WalDb = ClassicLevel<Buffer, Buffer>;

/** Opens the database in `dir`. Creates it only when `create`; otherwise a missing one is WalNotFoundError. */
export async function openDb(dir: string, create: boolean): Promise<WalDb> {
  if (create) mkdirSync(dir, { recursive: true });
  else if (!existsSync(dir) || readdirSync(dir).length === 0) throw new WalNotFoundError(dir);
  const db: WalDb = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: create });
  try {
    await db.open();
  } catch (error) {
    throw translateOpenError(dir, error, create);
  }
  return db;
}

function translateOpenError(dir: string, error: unknown, create: boolean): unknown {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (cause?.code === 'LEVEL_LOCKED') return new WalLockedError(dir, { cause: error });
  if (cause?.code === 'LEVEL_CORRUPTION') return new WalCorruptError(dir, 'the database files are damaged', { cause: error });
  // Without create, LevelDB refuses a directory that holds no database: nothing was ever logged here.
  if (!create) return new WalNotFoundError(dir, { cause: error });
  return error;
}

/** Whether the database holds no record at all. */
export async function isEmptyDb(db: WalDb): Promise<boolean> {
  const keys = await db.keys({ limit: 1 }).all();
  return keys.length === 0;
}
