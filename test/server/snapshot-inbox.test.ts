// The follower's inbox of streamed snapshots: each body staged beside the store, checked, and
// named in the MsgSnap handed to the core; what the core does not take, or a newer stream
// supersedes, leaves nothing on disk.

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MvccStore } from '../../src/mvcc/mvcc-store.js';
import { message, MessageType, type Message } from '../../src/raft/index.js';
import { ServerErrorCode } from '../../src/server/errors.js';
import { SnapshotInbox } from '../../src/server/snapshot-inbox.js';
import type { SnapshotMessage } from '../../src/transport/index.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function header(index: number): SnapshotMessage {
  return message({ type: MessageType.Snap, from: 1, to: 2, term: 3, snapshot: { metadata: { index, term: 3, confState: { voters: [1, 2], learners: [] } }, data: new Uint8Array(0) } }) as SnapshotMessage;
}

/** A leader's store with a few keys, applied to `applied`, and its dump's chunks. */
async function leaderDump(root: string, applied: number): Promise<Buffer[]> {
  const store = await MvccStore.open(join(root, 'leader'));
  for (let i = 0; i < 20; i++) {
    const txn = store.write();
    txn.put(Buffer.from(`k${i}`), Buffer.alloc(500, i), 0n);
    txn.end();
  }
  store.markApplied(applied);
  const dump = await store.openDump(2048);
  const chunks: Buffer[] = [];
  for (let chunk = await dump.read(); chunk !== null; chunk = await dump.read()) chunks.push(chunk);
  dump.close();
  await store.close();
  return chunks;
}

function setup(): { root: string; storeDir: string; inbox: SnapshotInbox; staged: () => string[] } {
  const root = mkdtempSync(join(tmpdir(), 'raftkv-inbox-'));
  roots.push(root);
  const memberDir = join(root, 'member');
  const storeDir = join(memberDir, 'kv');
  const inbox = new SnapshotInbox(storeDir, pino({ level: 'silent' }));
  const staged = (): string[] => (existsSync(memberDir) ? readdirSync(memberDir).filter((name) => name.startsWith('kv.db-')) : []);
  return { root, storeDir, inbox, staged };
}

/** A leader's dump (applied 40) streamed whole into `inbox` as the body of a MsgSnap at 35; the MsgSnap it hands on. */
async function stageWhole(inbox: SnapshotInbox, root: string): Promise<Message> {
  const sink = inbox.open(header(35));
  for (const chunk of await leaderDump(root, 40)) await sink.write(chunk);
  return sink.finish();
}

describe('SnapshotInbox', () => {
  it('stages a body, names the copy in the MsgSnap, and hands the directory to the install', async () => {
    const { root, inbox, staged } = setup();
    const delivered = await stageWhole(inbox, root);
    expect(delivered.snapshot?.metadata.index).toBe(35);
    expect(Buffer.from(delivered.snapshot!.data).toString()).toMatch(/^raftkv-staged:kv\.db-/);
    expect(staged()).toHaveLength(1);
    inbox.keepOnly(delivered.snapshot!.data);
    const directory = inbox.take(delivered.snapshot!.data);
    expect(existsSync(directory)).toBe(true);
    inbox.settled(directory);
    expect(() => inbox.take(delivered.snapshot!.data)).toThrow(expect.objectContaining({ code: ServerErrorCode.StagedSnapshotUnknown }));
  });

  it('removes a staged copy the core did not take', async () => {
    const { root, inbox, staged } = setup();
    const delivered = await stageWhole(inbox, root);
    inbox.keepOnly(undefined);
    await expect.poll(() => staged()).toEqual([]);
    expect(() => inbox.take(delivered.snapshot!.data)).toThrow(expect.objectContaining({ code: ServerErrorCode.StagedSnapshotUnknown }));
  });

  it('a newer stream supersedes one in progress, whose copy is removed when the transport aborts it', async () => {
    const { root, inbox, staged } = setup();
    const chunks = await leaderDump(root, 40);
    const first = inbox.open(header(35));
    await first.write(chunks[0]!);
    const second = inbox.open(header(36));
    await expect(first.write(chunks[1]!)).rejects.toMatchObject({ code: ServerErrorCode.SnapshotSuperseded });
    await first.abort();
    for (const chunk of chunks) await second.write(chunk);
    await second.finish();
    expect(staged()).toHaveLength(1);
  });

  it('refuses a body behind the snapshot and one cut short, leaving nothing staged', async () => {
    const { root, inbox, staged } = setup();
    const chunks = await leaderDump(root, 40);
    const behind = inbox.open(header(41));
    for (const chunk of chunks) await behind.write(chunk);
    await expect(behind.finish()).rejects.toThrow(/behind its snapshot at 41/);
    await behind.abort();
    const cut = inbox.open(header(35));
    await cut.write(chunks[0]!);
    await expect(cut.finish()).rejects.toThrow(/before its checksum/);
    await cut.abort();
    expect(staged()).toEqual([]);
  });

  it('data that names no staged copy (an older version\'s image) is refused with a clear message', () => {
    const { inbox } = setup();
    expect(() => inbox.take(Buffer.from('RKVMVCC2....'))).toThrow(/image from an older raftkv version/);
  });
});
