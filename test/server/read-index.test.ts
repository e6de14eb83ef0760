import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProposalDroppedError } from '../../src/raft/index.js';
import { ReadIndexBatcher } from '../../src/server/read-index.js';

/** A batcher over a fake core that records every ReadIndex request's context. */
function setup(timeoutMs = 2000) {
  const requests: Buffer[] = [];
  let applied = 0;
  let leaderless = false;
  const batcher = new ReadIndexBatcher({
    requestReadIndex: (context) => {
      if (leaderless) throw new ProposalDroppedError('no leader');
      requests.push(Buffer.from(context));
    },
    appliedIndex: () => applied,
    schedule: () => {},
    timeoutMs,
  });
  const outcomes: string[] = [];
  const read = (name: string): void => {
    batcher.barrier().then(
      () => outcomes.push(`${name} ok`),
      (error: Error) => outcomes.push(`${name} ${error.message}`),
    );
  };
  return {
    batcher,
    requests,
    outcomes,
    read,
    apply: (index: number) => {
      applied = index;
      batcher.releaseApplied();
    },
    loseLeader: () => {
      leaderless = true;
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ReadIndexBatcher', () => {
  it('keeps one request in flight: reads that arrive meanwhile share the next one', async () => {
    const t = setup();
    t.read('a');
    t.batcher.flush();
    t.read('b');
    t.batcher.flush();
    t.read('c');
    t.batcher.flush();
    expect(t.requests).toHaveLength(1);

    t.apply(5);
    t.batcher.confirmed(5, t.requests[0]);
    t.batcher.flush();
    expect(t.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.outcomes).toEqual(['a ok']);

    t.batcher.confirmed(7, t.requests[1]);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.outcomes).toEqual(['a ok']); // read index 7 is not applied yet
    t.apply(7);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.outcomes).toEqual(['a ok', 'b ok', 'c ok']);
  });

  it('asks again after 500 ms without an answer, with the waiting reads and the new ones', async () => {
    const t = setup();
    t.read('a');
    t.batcher.flush();
    t.read('b');
    await vi.advanceTimersByTimeAsync(500);
    t.batcher.flush();
    expect(t.requests).toHaveLength(2);
    // A late answer to the first request finds nothing to release: a and b wait for the second.
    t.batcher.confirmed(3, t.requests[0]);
    t.apply(3);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.outcomes).toEqual([]);
    t.batcher.confirmed(3, t.requests[1]);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.outcomes).toEqual(['a ok', 'b ok']);
  });

  it('fails each read at its own deadline, however often it was asked again', async () => {
    const t = setup(1200);
    t.read('a');
    t.batcher.flush();
    await vi.advanceTimersByTimeAsync(500);
    t.batcher.flush(); // the retry scheduled itself; the Ready loop flushes
    t.read('b');
    await vi.advanceTimersByTimeAsync(500);
    t.batcher.flush();
    await vi.advanceTimersByTimeAsync(500); // 1.5 s: a is past its deadline, b is not
    expect(t.outcomes).toEqual(['a etcdserver: request timed out']);
    t.batcher.flush();
    t.batcher.confirmed(9, t.requests[t.requests.length - 1]);
    t.apply(9);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.outcomes).toEqual(['a etcdserver: request timed out', 'b ok']);
  });

  it('refuses at once without a leader', async () => {
    const t = setup();
    t.loseLeader();
    t.read('a');
    t.batcher.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.outcomes).toEqual(['a etcdserver: no leader']);
  });

  it('fails a read still waiting for the store to apply its index once its deadline passes', async () => {
    const t = setup(2000);
    t.read('a');
    t.batcher.flush();
    t.batcher.confirmed(9, t.requests[0]);
    vi.advanceTimersByTime(1999);
    t.batcher.expire(performance.now());
    await Promise.resolve();
    expect(t.outcomes).toEqual([]);
    vi.advanceTimersByTime(1);
    t.batcher.expire(performance.now());
    await Promise.resolve();
    expect(t.outcomes).toEqual(['a etcdserver: request timed out']);
    // The store catching up afterwards answers nobody twice.
    t.apply(9);
    await Promise.resolve();
    expect(t.outcomes).toEqual(['a etcdserver: request timed out']);
  });

  it('stop() fails every read, whatever it waits for', async () => {
    const t = setup();
    t.read('applying');
    t.batcher.flush();
    t.batcher.confirmed(9, t.requests[0]);
    t.read('outstanding');
    t.batcher.flush();
    t.read('queued');
    t.batcher.flush();
    t.batcher.stop();
    await Promise.resolve();
    expect(t.outcomes.sort()).toEqual(['applying etcdserver: server stopped', 'outstanding etcdserver: server stopped', 'queued etcdserver: server stopped']);
    t.read('after');
    await Promise.resolve();
    expect(t.outcomes).toContain('after etcdserver: server stopped');
  });
});

