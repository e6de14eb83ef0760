// Shared fixtures for the storage tests: real temp directories, entries, a capturing logger and a
// plain-data view of a MemoryStorage to compare.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { EntryType, type Entry, type MemoryStorage } from '../../src/raft/index.js';
import type { MemberIdentity, WalLogger } from '../../src/storage/index.js';

export const IDENTITY: MemberIdentity = { clusterId: 0x1c2d3e4f5a6b7, memberId: 0x8a9b0c1d2e3f4, name: 'infra1' };

const created: string[] = [];

/** A fresh data directory, removed after the test. */
export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-wal-'));
  created.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function walDir(dataDir: string): string {
  return join(dataDir, 'member', 'wal');
}

export function entry(index: number, term: number, text = `entry ${index}@${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(text) };
}

export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push(entry(index, term));
  return out;
}

export interface LogLine {
  readonly level: 'info' | 'warn';
  readonly object: object;
  readonly message: string;
}

export function captureLogger(): WalLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (object, message) => lines.push({ level: 'info', object, message }),
    warn: (object, message) => lines.push({ level: 'warn', object, message }),
  };
}

/** Everything the RawNode can read from a storage, as plain data. */
export function view(storage: MemoryStorage): object {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  return {
    first,
    last,
    dummyTerm: storage.term(first - 1),
    entries: last >= first ? storage.entries(first, last + 1, Infinity).map((e) => ({ ...e, data: Buffer.from(e.data).toString('hex') })) : [],
    initialState: storage.initialState(),
    snapshot: { ...storage.snapshot(), data: Buffer.from(storage.snapshot().data).toString('hex') },
  };
}

/** Opens the log's database directly, for tests that tamper with records. */
export async function withRawDb(dataDir: string, use: (db: ClassicLevel<Buffer, Buffer>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(walDir(dataDir), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false });
  await db.open();
  try {
    await use(db);
  } finally {
    await db.close();
  }
}
