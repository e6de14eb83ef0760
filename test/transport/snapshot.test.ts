import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, message, type Message } from '../../src/raft/index.js';
import { startMember, stopAll, unusedPort, waitFor } from './harness.js';

afterEach(stopAll);

const MiB = 1024 * 1024;

function snapMessage(to: number, data: Uint8Array): Message {
  return message({
    type: MessageType.Snap,
    from: 1,
    to,
    term: 6,
    snapshot: { metadata: { index: 1234, term: 5, confState: { voters: [1, 2, 3], learners: [4] } }, data },
  });
}

describe('snapshot streams', () => {
  it('streams a 5 MiB snapshot in 64 KiB chunks, intact, and reports success', async () => {
    const chunkBytes = 64 * 1024;
    const a = await startMember({ memberId: 1, snapshotChunkBytes: chunkBytes, frameBytesMax: chunkBytes + 1 });
    const b = await startMember({ memberId: 2, frameBytesMax: chunkBytes + 1 });
    a.transport.addPeer(2, [b.url]);
    const data = randomBytes(5 * MiB);
    a.transport.send([snapMessage(2, data)]);
    // Sent after the snapshot, on the message stream beside it.
    a.transport.send([message({ type: MessageType.Heartbeat, from: 1, to: 2, term: 6, commit: 1 })]);

    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome', 10_000);
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 2, ok: true }]);
    const snaps = b.received().filter((m) => m.type === MessageType.Snap);
    expect(snaps).toHaveLength(1);
    const received = snaps[0]!;
    expect(received).toMatchObject({ from: 1, to: 2, term: 6 });
    expect(received.snapshot!.metadata).toEqual({ index: 1234, term: 5, confState: { voters: [1, 2, 3], learners: [4] } });
    expect(Buffer.compare(Buffer.from(received.snapshot!.data), data)).toBe(0);
    // The frame limit (64 KiB + 1) proves no frame carried more than one chunk.
    await waitFor(() => b.received().some((m) => m.type === MessageType.Heartbeat), 'the heartbeat');
  });

  it('reports failure for a snapshot sent to a dead peer', async () => {
    const a = await startMember({ memberId: 1 });
    a.transport.addPeer(2, [`http://127.0.0.1:${await unusedPort()}`]);
    a.transport.send([snapMessage(2, new Uint8Array(1000))]);
    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome');
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 2, ok: false }]);
    expect(a.seen.unreachable).toContain(2);
  });

  it('refuses a snapshot beyond snapshotBytesMax without delivering it', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2, snapshotBytesMax: MiB });
    a.transport.addPeer(2, [b.url]);
    a.transport.send([snapMessage(2, new Uint8Array(MiB + 1))]);
    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome');
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 2, ok: false }]);
    expect(b.received().filter((m) => m.type === MessageType.Snap)).toEqual([]);
    expect(b.seen.warnings.some((w) => w.includes('exceeds snapshotBytesMax'))).toBe(true);

    // A snapshot within the limit still goes through afterwards.
    a.transport.send([snapMessage(2, new Uint8Array(MiB))]);
    await waitFor(() => a.seen.snapshotStatuses.length === 2, 'the second outcome');
    expect(a.seen.snapshotStatuses[1]).toEqual({ peer: 2, ok: true });
  });
});
