// The "require leader" monitor (src/api/leader-monitor.ts): driven by the member's leader changes,
// it ends open streams only after three election timeouts without a leader, as etcd does.

import { Metadata } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaderMonitor } from '../../src/api/leader-monitor.js';

const ELECTION_TIMEOUT_MS = 1000;

/** A member whose leader the test sets; each change is told to the listeners, as the member does. */
function member() {
  let leader = true;
  const listeners = new Set<() => void>();
  return {
    hasLeader: () => leader,
    onLeaderChange: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setLeader(has: boolean): void {
      leader = has;
      for (const listener of listeners) listener();
    },
  };
}

/** A monitor with one open stream watching, on a member that has just lost its leader. */
function streamOnLeaderlessMember() {
  const m = member();
  const monitor = new LeaderMonitor(m, ELECTION_TIMEOUT_MS);
  const lost = vi.fn();
  expect(monitor.watch(lost)).not.toBeNull();
  m.setLeader(false);
  return { m, lost };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LeaderMonitor', () => {
  it('ends an open stream once the member has had no leader for three election timeouts, not before', () => {
    const { lost } = streamOnLeaderlessMember();
    vi.advanceTimersByTime(3 * ELECTION_TIMEOUT_MS - 1);
    expect(lost).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(lost).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * ELECTION_TIMEOUT_MS);
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('keeps streams open through an election that finds a leader within the grace', () => {
    const { m, lost } = streamOnLeaderlessMember();
    vi.advanceTimersByTime(2 * ELECTION_TIMEOUT_MS);
    m.setLeader(true);
    vi.advanceTimersByTime(10 * ELECTION_TIMEOUT_MS);
    expect(lost).not.toHaveBeenCalled();
    // A later loss starts a fresh grace.
    m.setLeader(false);
    vi.advanceTimersByTime(3 * ELECTION_TIMEOUT_MS);
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('refuses a new stream at once while there is no leader, and forgets a stream that stopped watching', () => {
    const m = member();
    const monitor = new LeaderMonitor(m, ELECTION_TIMEOUT_MS);
    const stopped = vi.fn();
    monitor.watch(stopped)?.();
    m.setLeader(false);
    const late = vi.fn();
    expect(monitor.watch(late)).toBeNull();
    expect(late).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(3 * ELECTION_TIMEOUT_MS);
    expect(stopped).not.toHaveBeenCalled();
  });

  it('reads the hasleader metadata', () => {
    const monitor = new LeaderMonitor(member(), ELECTION_TIMEOUT_MS);
    const metadata = new Metadata();
    expect(monitor.requiresLeader(metadata)).toBe(false);
    metadata.set('hasleader', 'true');
    expect(monitor.requiresLeader(metadata)).toBe(true);
  });
});
