import { describe, expect, it } from 'vitest';
import { MessageType, message, type Snapshot } from '../../src/raft/index.js';
import {
  decodeEntry,
  decodeHardState,
  decodeMessageBatch,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeMessageBatch,
  encodeSnapshot,
} from '../../src/raftpb/codec.js';

const snapshot: Snapshot = { metadata: { index: 40, term: 3, confState: { voters: [1, 2, 3], learners: [9] } }, data: new Uint8Array([7, 8, 9]) };

function plain(value: unknown): unknown {
  // Buffer.toJSON runs before a replacer sees the value, so turn bytes into arrays by hand.
  const convert = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return Array.from(v);
    if (Array.isArray(v)) return v.map(convert);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, convert(inner)]));
    return v;
  };
  return convert(value);
}

describe('raftpb codec', () => {
  it('round-trips entries, hard state and snapshots', () => {
    const entry = { term: 7, index: 2 ** 40, type: 1 as const, data: new Uint8Array([1, 2, 3]) };
    expect(plain(decodeEntry(encodeEntry(entry)))).toEqual(plain(entry));
    expect(decodeHardState(encodeHardState({ term: 9, vote: 2 ** 53 - 1, commit: 12 }))).toEqual({ term: 9, vote: 2 ** 53 - 1, commit: 12 });
    expect(plain(decodeSnapshot(encodeSnapshot(snapshot)))).toEqual(plain(snapshot));
  });

  it('round-trips a batch of every kind of message, keeping absent snapshots absent', () => {
    const batch = [
      message({ type: MessageType.App, to: 2, from: 1, term: 4, logTerm: 3, index: 10, commit: 9, entries: [{ term: 4, index: 11, type: 0, data: new Uint8Array([5]) }] }),
      message({ type: MessageType.AppResp, to: 1, from: 2, term: 4, index: 9, reject: true, rejectHint: 6, logTerm: 2 }),
      message({ type: MessageType.Snap, to: 3, from: 1, term: 4, snapshot }),
      message({ type: MessageType.Heartbeat, to: 3, from: 1, term: 4, commit: 8, readRound: 77 }),
      message({ type: MessageType.Vote, to: 3, from: 2, term: 5, index: 12, logTerm: 4, transfer: true }),
      message({ type: MessageType.ReadIndex, to: 1, from: 3, context: new Uint8Array([42]) }),
    ];
    const decoded = decodeMessageBatch(encodeMessageBatch(batch));
    expect(plain(decoded)).toEqual(plain(batch));
    expect(decoded[0].snapshot).toBeNull();
  });
});
