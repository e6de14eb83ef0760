// A store's in-memory state as read from its database: the meta record (applied Raft index,
// revision, compacted revision), the index rebuilt from the record headers alone — never a value —
// and the member metadata records. The store loads one at open, and a snapshot install loads a
// staged database's image aside and makes that database the active one before the store adopts it.

import { ClassicLevel } from 'classic-level';
import { META_KEY, decodeMeta, keyToString, type MetaRecord } from './codec.js';
import { MvccCorruptError } from './errors.js';
import { KeySpace } from './key-space.js';
import { decodeHeader, headerKeyRange, upgradeLayout } from './layout.js';
import { MemberMetadata } from './member-metadata.js';
import { switchActiveStore, type InstallStepHook } from './store-directory.js';

/** Record headers taken from the iterator per read while loading. */
const HEADERS_PER_READ = 1000;

/** What a database held; an empty database gives revision 1 and nothing else. */
export interface StoreImage {
  readonly meta: MetaRecord;
  readonly keys: KeySpace;
  readonly memberRecords: Map<string, Buffer>;
}

export async function openDatabase(directory: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const db = new ClassicLevel<Buffer, Buffer>(directory, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return db;
}

/** Upgrades an older layout first, then reads the meta record, the record headers and the member metadata. */
export async function loadStoreImage(db: ClassicLevel<Buffer, Buffer>): Promise<StoreImage> {
  await upgradeLayout(db);
  const stored = await db.get(META_KEY);
  const meta = stored === undefined ? { appliedIndex: 0, revision: 1, compactedRevision: 0 } : decodeMeta(stored);
  const keys = new KeySpace();
  // Headers come off disk in revision order (their keys are big-endian revisions): no sort needed.
  // nextv in batches: about a fifth faster than `for await` over the same headers.
  const headers = db.iterator(headerKeyRange);
  try {
    for (let entries = await headers.nextv(HEADERS_PER_READ); entries.length > 0; entries = await headers.nextv(HEADERS_PER_READ)) {
      for (const [key, value] of entries) {
        const record = decodeHeader(key, value, (keyBytes) => {
          const name = keyToString(keyBytes);
          return keys.index.get(name)?.name ?? name;
        });
        if (record.main > meta.revision) throw new MvccCorruptError(`record ${record.main}.${record.sub} is beyond revision ${meta.revision}`);
        keys.appendLoaded(record, meta.compactedRevision);
      }
    }
  } finally {
    await headers.close();
  }
  return { meta, keys, memberRecords: await MemberMetadata.read(db) };
}

/**
 * Opens a staged database (store-dump.ts, finished) where it was staged and loads its image aside,
 * then makes it the store's active database durably (store-directory.ts: a crash leaves the old
 * database or the new one, whole). On failure the staged database is closed again.
 */
export async function loadAndActivateStaged(
  storeDirectory: string,
  stagedDirectory: string,
  afterStep: InstallStepHook,
): Promise<{ db: ClassicLevel<Buffer, Buffer>; image: StoreImage }> {
  const db = await openDatabase(stagedDirectory);
  try {
    const image = await loadStoreImage(db);
    await afterStep('loaded');
    await switchActiveStore(storeDirectory, stagedDirectory);
    await afterStep('switched');
    return { db, image };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}
