// The transport's pure parts, without sockets.

import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, message } from '../../src/raft/index.js';
import { Backoff } from '../../src/transport/backoff.js';
import { InvalidTransportOptionsError } from '../../src/transport/errors.js';
import { estimateMessageBytes, MessageQueue } from '../../src/transport/message-queue.js';
import { resolveSettings, type TransportOptions } from '../../src/transport/options.js';
import { deserializeSnapshotFrame, serializeMessageBatch, serializeSnapshotFrame } from '../../src/transport/service.js';
import { plain } from './harness.js';

const callbacks = { onMessages() {}, onUnreachable() {}, onSnapshotStatus() {} };
const snap = message({ type: MessageType.Snap, from: 1, to: 2, term: 3, snapshot: { metadata: { index: 9, term: 3, confState: { voters: [1, 2], learners: [] } }, data: new Uint8Array(0) } });

function append(index: number, dataBytes: number) {
  return message({ type: MessageType.App, from: 1, to: 2, index, entries: [{ term: 1, index: index + 1, type: EntryType.Normal, data: new Uint8Array(dataBytes).fill(0xff) }] });
}

describe('MessageQueue', () => {
  it('never underestimates the encoded size of a message', () => {
    const big = message({
      type: MessageType.App, from: 2 ** 53 - 1, to: 2 ** 53 - 1, term: 2 ** 53 - 1, logTerm: 2 ** 53 - 1, index: 2 ** 53 - 1, commit: 2 ** 53 - 1,
      reject: true, rejectHint: 2 ** 53 - 1, readRound: 2 ** 53 - 1, transfer: true, context: new Uint8Array(300),
      entries: [0, 1, 2].map((i) => ({ term: 2 ** 53 - 1, index: 2 ** 53 - 1 - i, type: EntryType.ConfChange, data: new Uint8Array(200) })),
    });
    expect(serializeMessageBatch([big]).byteLength).toBeLessThanOrEqual(estimateMessageBytes(big));
  });

  it('is bounded, refuses a message larger than a frame, and drains in order in frame-sized batches', () => {
    const queue = new MessageQueue(5, 4096);
    expect(queue.offer(append(0, 5000))).toBe('too-large');
    for (let i = 0; i < 5; i++) expect(queue.offer(append(i, 1500))).toBe('queued');
    expect(queue.offer(append(5, 1))).toBe('queue-full');
    const batches = [queue.takeBatch(), queue.takeBatch(), queue.takeBatch()];
    expect(batches.map((batch) => batch.map((m) => m.index))).toEqual([[0, 1], [2, 3], [4]]);
    expect(queue.length).toBe(0);
    expect(queue.takeBatch()).toEqual([]);
  });
});

describe('Backoff', () => {
  it('doubles from the initial delay up to the max, within the jitter, and resets', () => {
    const backoff = new Backoff(50, 2000);
    const delays = Array.from({ length: 10 }, () => backoff.next());
    [50, 100, 200, 400, 800, 1600].forEach((base, i) => {
      expect(delays[i]).toBeGreaterThanOrEqual(base * 0.8);
      expect(delays[i]).toBeLessThanOrEqual(base * 1.2);
    });
    for (const delay of delays.slice(6)) expect(delay).toBeLessThanOrEqual(2000);
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(60);
  });
});

describe('snapshot frames', () => {
  it('round-trips header and chunk frames', () => {
    const header = deserializeSnapshotFrame(serializeSnapshotFrame({ kind: 'header', message: snap }));
    expect(plain(header)).toEqual(plain({ kind: 'header', message: snap }));
    const chunk = deserializeSnapshotFrame(serializeSnapshotFrame({ kind: 'chunk', data: new Uint8Array([1, 2, 3]) }));
    expect(plain(chunk)).toEqual({ kind: 'chunk', data: [1, 2, 3] });
    expect(() => deserializeSnapshotFrame(Buffer.from([9, 1]))).toThrow(/unknown snapshot frame tag/);
  });
});

describe('options', () => {
  const base: TransportOptions = { memberId: 1, clusterId: 5, ...callbacks };

  it('fills in defaults and refuses bad limits', () => {
    const settings = resolveSettings(base);
    expect(settings).toMatchObject({ queueMessagesMax: 4096, frameBytesMax: 16 * 1024 * 1024, snapshotChunkBytes: 1024 * 1024 });
    expect(resolveSettings({ ...base, frameBytesMax: 100_000 }).snapshotChunkBytes).toBe(99_999);
    expect(() => resolveSettings({ ...base, memberId: 0 })).toThrow(InvalidTransportOptionsError);
    expect(() => resolveSettings({ ...base, queueMessagesMax: 0 })).toThrow(InvalidTransportOptionsError);
    expect(() => resolveSettings({ ...base, frameBytesMax: 100_000, snapshotChunkBytes: 100_000 })).toThrow(InvalidTransportOptionsError);
    expect(() => resolveSettings({ ...base, reconnectDelayMs: { initial: 100, max: 10 } })).toThrow(InvalidTransportOptionsError);
  });
});
