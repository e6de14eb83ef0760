import { afterEach, describe, expect, it } from 'vitest';
import { EntryType, MessageType, message, type Message } from '../../src/raft/index.js';
import { plain, startMember, stopAll, waitFor } from './harness.js';

afterEach(stopAll);

function appendFrom1To2(index: number): Message {
  return message({
    type: MessageType.App,
    from: 1,
    to: 2,
    term: 3,
    logTerm: 3,
    index,
    commit: index,
    entries: [
      { term: 3, index: index + 1, type: EntryType.Normal, data: new TextEncoder().encode(`put k${index} v${index}`) },
      { term: 3, index: index + 2, type: EntryType.ConfChange, data: new Uint8Array([0, 255, 1, 254]) },
    ],
  });
}

describe('message streams', () => {
  it('delivers batches between two transports, decoded exactly and in order', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [b.url]);
    b.transport.addPeer(1, [a.url]);

    const toB = [
      appendFrom1To2(10),
      message({ type: MessageType.Heartbeat, from: 1, to: 2, term: 3, commit: 12, readRound: 41 }),
      message({ type: MessageType.ReadIndex, from: 1, to: 2, term: 3, context: new Uint8Array([9, 8, 7]) }),
      message({ type: MessageType.Vote, from: 1, to: 2, term: 4, index: 12, logTerm: 3, transfer: true }),
    ];
    a.transport.send(toB);
    a.transport.send([appendFrom1To2(12)]);
    const toA = [message({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 9, reject: true, rejectHint: 7, logTerm: 2 })];
    b.transport.send(toA);

    await waitFor(() => b.received().length === 5 && a.received().length === 1, 'both sides to receive');
    expect(plain(b.received())).toEqual(plain([...toB, appendFrom1To2(12)]));
    expect(b.received()[1]!.readRound).toBe(41);
    expect(b.received()[0]!.snapshot).toBeNull();
    expect(plain(a.received())).toEqual(plain(toA));
    expect(a.transport.stats()[2]).toEqual({ sent: 5, dropped: 0, connected: true });
  });

  it('coalesces the sends of one event-loop turn into few batches', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [b.url]);
    await waitFor(() => a.transport.stats()[2]!.connected, 'the stream to connect');

    for (let i = 0; i < 100; i++) {
      a.transport.send([message({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, commit: i })]);
    }
    await waitFor(() => b.received().length === 100, '100 messages');
    expect(b.received().map((m) => m.commit)).toEqual([...Array(100).keys()]);
    expect(b.seen.batches.length).toBeLessThanOrEqual(2);
  });

  it('flush() writes what is queued at once, not at the end of the turn, as one batch', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [b.url]);
    await waitFor(() => a.transport.stats()[2]!.connected, 'the stream to connect');

    const heartbeats = [0, 1, 2].map((commit) => message({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, commit }));
    a.transport.send(heartbeats);
    expect(a.transport.stats()[2]!.sent).toBe(0);
    a.transport.flush();
    expect(a.transport.stats()[2]!.sent).toBe(3);
    await waitFor(() => b.received().length === 3, '3 messages');
    expect(b.seen.batches.map((batch) => batch.map((m) => m.commit))).toEqual([[0, 1, 2]]);
  });

  it('splits a queue bigger than one frame into several frames, in order', async () => {
    const frameBytesMax = 64 * 1024;
    const a = await startMember({ memberId: 1, frameBytesMax });
    const b = await startMember({ memberId: 2, frameBytesMax });
    a.transport.addPeer(2, [b.url]);
    await waitFor(() => a.transport.stats()[2]!.connected, 'the stream to connect');

    const data = new Uint8Array(10 * 1024).fill(3);
    const appends = Array.from({ length: 20 }, (_, i) =>
      message({ type: MessageType.App, from: 1, to: 2, term: 1, index: i, entries: [{ term: 1, index: i + 1, type: EntryType.Normal, data }] }),
    );
    // Too big for any frame: dropped and counted, the others still go.
    const oversized = message({ type: MessageType.App, from: 1, to: 2, term: 1, entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(frameBytesMax) }] });
    a.transport.send([...appends.slice(0, 10), oversized, ...appends.slice(10)]);

    await waitFor(() => b.received().length === 20, '20 appends');
    expect(b.received().map((m) => m.index)).toEqual([...Array(20).keys()]);
    expect(b.seen.batches.length).toBeGreaterThanOrEqual(4);
    expect(a.transport.stats()[2]!.dropped).toBe(1);
  });
});
