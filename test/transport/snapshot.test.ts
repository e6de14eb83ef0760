import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, message, type Message } from '../../src/raft/index.js';
import type { SnapshotMessage, SnapshotSource } from '../../src/transport/index.js';
import { sleep, startMember, stopAll, unusedPort, waitFor } from './harness.js';

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

/** A source of `chunks` chunks of `chunkBytes` generated on demand (never all in memory), counting reads. */
function countingSource(chunks: number, chunkBytes: number): SnapshotSource & { reads: number; closed: boolean } {
  const source = {
    reads: 0,
    closed: false,
    read: async (): Promise<Uint8Array | null> => {
      if (source.reads >= chunks) return null;
      source.reads++;
      return new Uint8Array(chunkBytes).fill(source.reads & 0xff);
    },
    close: () => {
      source.closed = true;
    },
  };
  return source;
}

/** A sink that records what happens to it; its writes wait while `gate` is closed. */
function gatedSink(header: SnapshotMessage) {
  let open: () => void = () => {};
  let gate: Promise<void> = new Promise((resolve) => (open = resolve));
  const sink = {
    header,
    writes: 0,
    bytes: 0,
    finished: false,
    aborted: false,
    release: () => open(),
    write: async (chunk: Uint8Array) => {
      sink.writes++;
      sink.bytes += chunk.byteLength;
      await gate;
    },
    finish: async (): Promise<Message> => {
      sink.finished = true;
      return { ...header, snapshot: { ...header.snapshot, data: new Uint8Array(0) } };
    },
    abort: async () => {
      sink.aborted = true;
    },
  };
  return { sink, opened: () => (gate = Promise.resolve()) };
}

/** Waits until `value()` has not changed for a few polls (the pipe between the two ends is full). */
async function settled(value: () => number): Promise<number> {
  let last = -1;
  let sameFor = 0;
  while (sameFor < 20) {
    await sleep(25);
    const now = value();
    sameFor = now === last ? sameFor + 1 : 0;
    last = now;
  }
  return last;
}

/** Member 1 sending to member 2, whose snapshot streams go to gated sinks (collected in `sinks`). */
async function senderAndGatedReceiver() {
  const sinks: Array<ReturnType<typeof gatedSink>['sink']> = [];
  const a = await startMember({ memberId: 1 });
  const b = await startMember({
    memberId: 2,
    onSnapshotStream: (header) => {
      const { sink } = gatedSink(header);
      sinks.push(sink);
      return sink;
    },
  });
  a.transport.addPeer(2, [b.url]);
  return { a, b, sinks };
}

describe('streamed snapshot bodies', () => {
  it('reads the body only as the receiver takes it: a stalled sink stalls the source, and the whole body arrives once it moves', async () => {
    const chunkBytes = 64 * 1024;
    const total = 512; // 32 MiB, generated on demand
    const { a, b, sinks } = await senderAndGatedReceiver();
    const source = countingSource(total, chunkBytes);
    a.transport.sendSnapshot(snapMessage(2, new Uint8Array(0)) as SnapshotMessage, source);
    await waitFor(() => sinks.length === 1 && sinks[0]!.writes === 1, 'the first chunk at the sink');
    // The sink holds its first write: the call is paused, HTTP/2 windows fill, the sender stops reading.
    const readsWhileStalled = await settled(() => source.reads);
    expect(sinks[0]!.writes).toBe(1);
    expect(readsWhileStalled).toBeLessThan(total);
    // Heartbeats still flow beside the stalled snapshot.
    a.transport.send([message({ type: MessageType.Heartbeat, from: 1, to: 2, term: 6, commit: 1 })]);
    await waitFor(() => b.received().some((m) => m.type === MessageType.Heartbeat), 'the heartbeat');

    sinks[0]!.release();
    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome', 30_000);
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 2, ok: true }]);
    expect(sinks[0]!.bytes).toBe(total * chunkBytes);
    expect(sinks[0]!.finished).toBe(true);
    expect(source.closed).toBe(true);
  });

  it('a stream cut mid-body aborts the sink, never finishes it, and the sender reports failure', async () => {
    const { a, b, sinks } = await senderAndGatedReceiver();
    const source = countingSource(10_000, 64 * 1024);
    a.transport.sendSnapshot(snapMessage(2, new Uint8Array(0)) as SnapshotMessage, source);
    await waitFor(() => sinks.length === 1 && sinks[0]!.writes === 1, 'the first chunk at the sink');
    await b.transport.stop();
    sinks[0]!.release();
    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome');
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 2, ok: false }]);
    await waitFor(() => sinks[0]!.aborted, 'the sink aborted');
    expect(sinks[0]!.finished).toBe(false);
    expect(source.closed).toBe(true);
    expect(source.reads).toBeLessThan(10_000);
  });

  it('counts the body as it arrives and refuses it past snapshotBytesMax, reading no further', async () => {
    const sinks: Array<ReturnType<typeof gatedSink>['sink']> = [];
    const a = await startMember({ memberId: 1 });
    const b = await startMember({
      memberId: 2,
      snapshotBytesMax: MiB,
      onSnapshotStream: (header) => {
        const { sink } = gatedSink(header);
        sink.release();
        sinks.push(sink);
        return sink;
      },
    });
    a.transport.addPeer(2, [b.url]);
    // Endless, as far as the receiver can tell: it must stop it by counting.
    const source = countingSource(Number.MAX_SAFE_INTEGER, 64 * 1024);
    a.transport.sendSnapshot(snapMessage(2, new Uint8Array(0)) as SnapshotMessage, source);
    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome', 30_000);
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 2, ok: false }]);
    await waitFor(() => sinks[0]!.aborted, 'the sink aborted');
    expect(sinks[0]!.finished).toBe(false);
    expect(sinks[0]!.bytes).toBeLessThanOrEqual(MiB);
    expect(b.received().filter((m) => m.type === MessageType.Snap)).toEqual([]);
    expect(b.seen.warnings.some((w) => w.includes('exceeds snapshotBytesMax'))).toBe(true);
    expect(source.closed).toBe(true);
  });
});
