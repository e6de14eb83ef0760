// A store's database dumped, staged and installed whole: the follower's side of a streamed
// snapshot, without the transport. Crash points are simulated by leaving on disk what a kill -9
// between two steps of an install would leave.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DumpBehindSnapshotError, DumpChecksumMismatchError, DumpMalformedError, DumpTruncatedError } from '../../src/mvcc/errors.js';
import type { MvccStore } from '../../src/mvcc/mvcc-store.js';
import { StoreDumpStager, type StoreDumpSource } from '../../src/mvcc/store-dump.js';
import { newStagingDirectory, recoverStoreDirectory, switchActiveStore } from '../../src/mvcc/store-directory.js';
import { b, del, observe, openStore, plain, put, tempDir } from './helpers.js';

async function readAll(source: StoreDumpSource): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) chunks.push(chunk);
  source.close();
  return chunks;
}

function writeHistory(store: MvccStore, keys: number, valueBytes: number): void {
  for (let i = 0; i < keys; i++) put(store, `key-${i % 50}`, randomBytes(valueBytes).toString('base64'));
  del(store, 'key-3');
  store.setMeta('members', b('[1,2,3]'));
}

/** Stages `chunks` into a fresh staging directory of `storeDirectory` and finishes it at `index`. */
async function stage(storeDirectory: string, chunks: readonly Uint8Array[], index: number): Promise<string> {
  const stager = await StoreDumpStager.create(newStagingDirectory(storeDirectory), 64 * 1024);
  try {
    for (const chunk of chunks) await stager.write(chunk);
    await stager.finish(index);
  } catch (error) {
    await stager.abort();
    throw error;
  }
  return stager.directory;
}

describe('store dumps', () => {
  it('a dump staged and installed gives a store equal to the source at every revision, in chunks of at most chunkBytes', async () => {
    const source = await openStore();
    writeHistory(source, 400, 3000);
    source.markApplied(77);
    const chunks = await readAll(await source.openDump(16 * 1024));
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.every((chunk) => chunk.byteLength <= 16 * 1024)).toBe(true);

    const targetDir = join(tempDir(), 'kv');
    const target = await openStore(targetDir);
    put(target, 'only-here', 'x');
    await target.persist(5);
    const staged = await stage(targetDir, chunks, 70);
    let restoredCalls = 0;
    target.observe({ changed() {}, compacted() {}, restored: () => restoredCalls++ });
    await target.installStaged(staged);
    expect(observe(target)).toEqual(observe(source));
    expect(target.appliedIndex).toBe(77);
    expect(target.getMeta('members')).toEqual(b('[1,2,3]'));
    expect(restoredCalls).toBe(1);
    // The staged copy is the database now, where it was staged; the old one is gone.
    expect(readdirSync(join(targetDir, '..')).sort()).toEqual(['kv.current', staged.slice(targetDir.length - 2)]);
    // And the installed database is what reopens.
    await target.close();
    const reopened = await openStore(targetDir);
    expect(observe(reopened)).toEqual(observe(source));
  });

  it('a dump of many small records straddling chunk boundaries stages into an equal store', async () => {
    // 20,000 revisions of 3-byte values: thousands of pairs per chunk, and pairs cut across chunks
    // at every offset of their framing. (Before, each pair queued three parts that were shifted off a
    // growing array one by one: 100,000 small pairs took 3.1 s to read, one read alone 2.1 s, long
    // enough for a sending leader to miss its heartbeats and lose an election.)
    const source = await openStore();
    for (let i = 0; i < 20_000; i++) put(source, `k${i % 5000}`, String(i % 1000).padStart(3, '0'));
    source.markApplied(20_000);
    await source.persist(20_000);
    const chunkBytes = 4099; // odd, so framing boundaries and chunk boundaries drift apart
    const chunks = await readAll(await source.openDump(chunkBytes));
    expect(chunks.slice(0, -1).every((chunk) => chunk.byteLength === chunkBytes)).toBe(true);
    // The stream does not depend on how it is cut: the chunk size members use gives the same bytes.
    expect(Buffer.concat(await readAll(await source.openDump(1024 * 1024))).equals(Buffer.concat(chunks))).toBe(true);
    const targetDir = join(tempDir(), 'kv');
    const target = await openStore(targetDir);
    await target.persist(1);
    await target.installStaged(await stage(targetDir, chunks, 20_000));
    expect(target.hash()).toEqual(source.hash());
    expect([target.revision, target.keyCount, target.appliedIndex]).toEqual([source.revision, source.keyCount, 20_000]);
    for (const revision of [1, 4_999, 5_001, 12_345, 20_000]) {
      expect(target.range(b('k'), b('l'), { revision }).kvs.map(plain)).toEqual(source.range(b('k'), b('l'), { revision }).kvs.map(plain));
    }
  });

  it('a read while a staged copy is installed sees the old state or the new one, whole, never a half-loaded one', async () => {
    const source = await openStore();
    writeHistory(source, 2000, 500);
    source.markApplied(50);
    const chunks = await readAll(await source.openDump(64 * 1024));
    const targetDir = join(tempDir(), 'kv');
    const target = await openStore(targetDir);
    put(target, 'old', 'value');
    await target.persist(3);
    const oldHash = target.hash();
    const newHash = source.hash();
    const staged = await stage(targetDir, chunks, 50);
    const seen: unknown[] = [];
    let done = false;
    const installing = target.installStaged(staged).then(() => (done = true));
    while (!done) {
      seen.push(target.hash());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await installing;
    seen.push(target.hash());
    expect(seen.length).toBeGreaterThan(2);
    for (const hash of seen) expect([oldHash, newHash]).toContainEqual(hash);
  });

  it('a dump is the database as of openDump, whatever is written while it is read', async () => {
    const source = await openStore();
    writeHistory(source, 100, 100);
    source.markApplied(10);
    const expected = observe(source);
    const dump = await source.openDump(1024);
    const first = await dump.read();
    put(source, 'later', 'v');
    await source.persist(11);
    const rest = await readAll(dump);
    const targetDir = join(tempDir(), 'kv');
    const target = await openStore(targetDir);
    await target.installStaged(await stage(targetDir, [first!, ...rest], 10));
    expect(observe(target)).toEqual(expected);
    expect(target.appliedIndex).toBe(10);
  });

  it('refuses a damaged, truncated, overlong or stale dump and leaves nothing staged', async () => {
    const source = await openStore();
    writeHistory(source, 50, 200);
    source.markApplied(20);
    const whole = Buffer.concat(await readAll(await source.openDump(4096)));
    const targetDir = join(tempDir(), 'kv');
    mkdirSync(targetDir);
    const flipped = Buffer.from(whole);
    flipped[100] ^= 0xff;
    await expect(stage(targetDir, [flipped], 20)).rejects.toThrow(DumpChecksumMismatchError);
    await expect(stage(targetDir, [whole.subarray(0, whole.byteLength - 10)], 20)).rejects.toThrow(DumpTruncatedError);
    await expect(stage(targetDir, [whole.subarray(0, 5000)], 20)).rejects.toThrow(DumpTruncatedError);
    await expect(stage(targetDir, [whole, Buffer.from([0])], 20)).rejects.toThrow(DumpMalformedError);
    await expect(stage(targetDir, [Buffer.from([0xf0, 0, 0, 0, 0, 0, 0, 0])], 20)).rejects.toThrow(DumpMalformedError);
    // The dump's store applied index 20: not enough for a snapshot at 21.
    await expect(stage(targetDir, [whole], 21)).rejects.toThrow(DumpBehindSnapshotError);
    expect(readdirSync(join(targetDir, '..'))).toEqual(['kv']);
  });

  it('a kill -9 at any point of an install leaves the old store or the new one, and startup removes leftovers', async () => {
    const source = await openStore();
    writeHistory(source, 60, 100);
    source.markApplied(30);
    const chunks = await readAll(await source.openDump(4096));
    const sourceState = observe(source);

    for (const crashAfter of ['staged', 'switched', 'installed-twice'] as const) {
      const targetDir = join(tempDir(), 'kv');
      const target = await openStore(targetDir);
      put(target, 'old', 'value');
      await target.persist(3);
      const oldState = observe(target);
      if (crashAfter === 'installed-twice') {
        // The active database is a former staged copy: the next install must replace that one.
        await target.installStaged(await stage(targetDir, await readAll(await target.openDump(4096)), 3));
        expect(observe(target)).toEqual(oldState);
      }
      await target.close();
      const staged = await stage(targetDir, chunks, 30);
      // A second, half-written staging directory, as a stream cut by a crash leaves it.
      mkdirSync(newStagingDirectory(targetDir));
      if (crashAfter !== 'staged') await switchActiveStore(targetDir, staged);
      const reopened = await openStore(targetDir);
      expect(observe(reopened)).toEqual(crashAfter === 'staged' ? oldState : sourceState);
      const left = readdirSync(join(targetDir, '..')).map((name) => name.replace(/db-.*/, 'db'));
      expect(left).toEqual(crashAfter === 'staged' ? ['kv'] : ['kv.current', 'kv.db']);
      await reopened.close();
    }
  });

  it('startup recovery: kv.current names the database; every other database of the store and a half-written pointer go', async () => {
    const parent = tempDir();
    const kv = join(parent, 'kv');
    const active = newStagingDirectory(kv);
    for (const directory of [kv, active, newStagingDirectory(kv)]) {
      mkdirSync(directory);
      writeFileSync(join(directory, 'marker'), directory);
    }
    // Nothing names a staged copy yet: kv is the database, staged copies are leftovers.
    expect((await recoverStoreDirectory(kv)).active).toBe(kv);
    expect(readdirSync(parent)).toEqual(['kv']);
    mkdirSync(active);
    await switchActiveStore(kv, active);
    writeFileSync(join(parent, 'kv.current.tmp'), 'kv.db-half');
    const recovered = await recoverStoreDirectory(kv);
    expect(recovered.active).toBe(active);
    expect(readdirSync(parent).sort()).toEqual(['kv.current', active.slice(parent.length + 1)].sort());
    // A pointer naming something that is not a database of this store is refused, never guessed around.
    writeFileSync(join(parent, 'kv.current'), 'elsewhere\n');
    await expect(recoverStoreDirectory(kv)).rejects.toThrow(/not a database of this store/);
    expect(existsSync(active)).toBe(true);
  });
});
