import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { MvccStore, type KeyValue, type MvccStoreOptions } from '../../src/mvcc/mvcc-store.js';
import { StoreDumpStager } from '../../src/mvcc/store-dump.js';
import { newStagingDirectory } from '../../src/mvcc/store-directory.js';

const created: string[] = [];
const opened: MvccStore[] = [];
const directories = new Map<MvccStore, string>();

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-mvcc-'));
  created.push(dir);
  return dir;
}

/** Opens a store that is closed (if still open) and removed after the test. */
export async function openStore(dir: string = tempDir(), options?: MvccStoreOptions): Promise<MvccStore> {
  const store = await MvccStore.open(dir, options);
  opened.push(store);
  directories.set(store, dir);
  return store;
}

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => undefined);
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * Replaces `target`'s whole state with `source`'s, the way a follower installs a snapshot: a dump
 * of the source's database, staged beside the target's and swapped in (installStaged).
 */
export async function installCopy(source: MvccStore, target: MvccStore, chunkBytes = 64 * 1024): Promise<void> {
  const dump = await source.openDump(chunkBytes);
  const targetDir = directories.get(target);
  if (targetDir === undefined) throw new Error('installCopy: the target was not opened by openStore');
  const stager = await StoreDumpStager.create(newStagingDirectory(targetDir));
  try {
    for (let chunk = await dump.read(); chunk !== null; chunk = await dump.read()) await stager.write(chunk);
    await stager.finish(0);
  } catch (error) {
    await stager.abort();
    throw error;
  } finally {
    dump.close();
  }
  await target.installStaged(stager.directory);
}

export const b = (text: string): Buffer => Buffer.from(text, 'utf8');
export const s = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
export const NONE = new Uint8Array(0);
export const ALL = new Uint8Array([0]);

/** One write transaction with one put; returns the store's revision after it. */
export function put(store: MvccStore, key: string, value: string, lease = 0n): number {
  const txn = store.write();
  txn.put(b(key), b(value), lease);
  return txn.end();
}

export function del(store: MvccStore, key: string, rangeEnd: Uint8Array = NONE): number {
  const txn = store.write();
  txn.deleteRange(b(key), rangeEnd);
  return txn.end();
}

/** A kv as plain strings and numbers, for toEqual. */
export function plain(kv: KeyValue | undefined): { key: string; value: string; createRevision: number; modRevision: number; version: number; lease: bigint } | undefined {
  if (kv === undefined) return undefined;
  return { key: s(kv.key), value: s(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease };
}

export function keys(kvs: readonly KeyValue[]): string[] {
  return kvs.map((kv) => s(kv.key));
}

/** Everything a reader can observe of a store at each retained revision. */
export function observe(store: MvccStore): unknown {
  const out: unknown[] = [store.revision, store.compactedRevision, store.keyCount];
  for (let revision = Math.max(1, store.compactedRevision); revision <= store.revision; revision++) {
    out.push(revision, store.range(NONE, ALL, { revision }).kvs.map(plain));
  }
  out.push(store.hash());
  return out;
}
