// Log replication: fast conflict backtracking, the inflight window, size batching, snapshots to
// far-behind followers, proposal forwarding and dropping.

import { describe, expect, it } from 'vitest';
import {
  DropReason,
  MessageType,
  entryBytes,
  type Message,
} from '../../src/raft/index.js';
import { Network, bytes, compactedLeader, diskTerms, storageWithLog, text, catchDrop } from './harness.js';

function repeat(term: number, count: number): number[] {
  return Array.from({ length: count }, () => term);
}


describe('fast conflict backtracking', () => {
  const cases: Array<{ name: string; leader: number[]; follower: number[] }> = [
    {
      name: 'a 100-entry divergent suffix of an older term',
      leader: [1, ...repeat(2, 10), ...repeat(4, 10)],
      follower: [1, ...repeat(2, 10), ...repeat(3, 100)],
    },
    {
      name: 'a 50-entry suffix that diverges right after the snapshot',
      leader: [1, ...repeat(3, 50)],
      follower: [1, ...repeat(2, 50)],
    },
    {
      name: 'a follower 45 entries behind',
      leader: [1, ...repeat(2, 50)],
      follower: [1, ...repeat(2, 5)],
    },
  ];

  for (const { name, leader, follower } of cases) {
    it(`repairs ${name} in one rejection`, () => {
      const voters = [1, 2, 3];
      const leaderTerm = Math.max(...leader);
      const storages = new Map([
        [1, storageWithLog(voters, leader, { term: leaderTerm })],
        [2, storageWithLog(voters, leader, { term: leaderTerm })],
        [3, storageWithLog(voters, follower, { term: leaderTerm })],
      ]);
      const net = new Network(voters, { storages });
      net.elect(1);
      const term = net.node(1).term();
      const rejections = net.sent((m) => m.type === MessageType.AppResp && m.reject && m.from === 3);
      expect(rejections.length).toBe(1);
      expect(net.sent((m) => m.type === MessageType.App && m.to === 3 && m.entries.length > 0).length).toBeLessThanOrEqual(2);
      expect(diskTerms(net.peer(3).storage)).toEqual([...leader, term]);
      expect(net.node(3).committedIndex()).toBe(leader.length + 1);
    });
  }
});

describe('flow control', () => {
  /**
   * Holds every append from 1 to 2 and tracks, in send order, how many of them are
   * unacknowledged. Returns the peak, after releasing held appends until 2 has caught up.
   */
  function runWithHeldAppends(net: Network, proposals: number): { peak: number; heldAtOnce: number[] } {
    const held: Message[] = [];
    const outstanding: number[] = []; // last index of each unacknowledged append
    let peak = 0;
    net.intercept = (m) => {
      if (m.type === MessageType.App && m.from === 1 && m.to === 2) {
        // Empty appends are held too, so that none overtakes an earlier one.
        if (m.entries.length > 0) {
          outstanding.push(m.entries[m.entries.length - 1].index);
          peak = Math.max(peak, outstanding.length);
        }
        held.push(m);
        return null;
      }
      if (m.type === MessageType.AppResp && m.from === 2 && m.to === 1 && !m.reject) {
        while (outstanding.length > 0 && outstanding[0] <= m.index) outstanding.shift();
      }
      return m;
    };
    for (let i = 0; i < proposals; i++) net.propose(1, `p${i}`);
    const heldAtOnce: number[] = [];
    for (let round = 0; held.length > 0 && round < 100; round++) {
      heldAtOnce.push(held.length);
      net.inject(held.splice(0));
      net.drain();
    }
    net.intercept = null;
    return { peak, heldAtOnce };
  }

  it('with inflightMessagesMax=2 at most 2 appends are unacknowledged at once', () => {
    const net = new Network([1, 2, 3], { config: { inflightMessagesMax: 2 } });
    net.elect(1);
    const { peak, heldAtOnce } = runWithHeldAppends(net, 12);
    expect(peak).toBe(2);
    expect(Math.max(...heldAtOnce)).toBeLessThanOrEqual(4); // at most 2 with entries, plus commit-only ones
    expect(heldAtOnce.length).toBeGreaterThan(1);
    expect(net.appliedData(2)).toEqual(Array.from({ length: 12 }, (_, i) => `p${i}`));
    expect(net.node(1).status().progress[2].state).toBe('replicate');
  });

  it('control: with the default window every proposal is its own unacknowledged append', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const { peak } = runWithHeldAppends(net, 12);
    expect(peak).toBe(12);
  });

  it('messageBytesMax bounds the entries of each append', () => {
    const max = 100;
    const net = new Network([1, 2, 3], { config: { messageBytesMax: max } });
    net.elect(1);
    net.isolate(3);
    const payload = 'x'.repeat(34); // 34 + 16 bytes of overhead: two entries per append
    for (let i = 0; i < 10; i++) net.propose(1, `${payload}${i}`.slice(-34));
    net.clearTrace();
    net.heal();
    net.tick(3);
    const appends = net.sent((m) => m.type === MessageType.App && m.to === 3 && m.entries.length > 0);
    expect(appends.length).toBeGreaterThanOrEqual(5);
    for (const m of appends) {
      expect(m.entries.length).toBeLessThanOrEqual(2);
      expect(m.entries.reduce((sum, e) => sum + entryBytes(e), 0)).toBeLessThanOrEqual(max);
    }
    expect(appends.filter((m) => m.entries.length === 2).length).toBeGreaterThan(0);
    expect(net.appliedData(3)).toHaveLength(10);
  });

  it('an entry larger than messageBytesMax still travels, alone', () => {
    const net = new Network([1, 2, 3], { config: { messageBytesMax: 100 } });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'y'.repeat(300));
    net.propose(1, 'small');
    net.clearTrace();
    net.heal();
    net.tick(3);
    const appends = net.sent((m) => m.type === MessageType.App && m.to === 3 && m.entries.length > 0);
    const big = appends.find((m) => m.entries.some((e) => e.data.byteLength === 300));
    expect(big?.entries).toHaveLength(1);
    expect(net.appliedData(3)).toEqual(['y'.repeat(300), 'small']);
  });
});

describe('probe recovery', () => {
  // A probe acknowledged at exactly the current match (the follower already holds everything) must
  // move the follower back to Replicate; otherwise new entries wait for the next heartbeat.
  it('a probe acknowledged at the current match moves the follower back to replicate', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.node(1).reportUnreachable(2); // Replicate -> Probe
    expect(net.node(1).status().progress[2].state).toBe('probe');
    net.tick(1, [1]); // the heartbeat response triggers an (empty) probe, acknowledged at match
    expect(net.node(1).status().progress[2].state).toBe('replicate');
    net.propose(1, 'b');
    expect(net.appliedData(2)).toEqual(['a', 'b']);
  });
});

describe('snapshots', () => {
  function compactedAfterTwenty(): { net: Network; snapshotIndex: number } {
    const compacted = compactedLeader(20);
    expect(compacted.snapshotIndex).toBe(22);
    expect(compacted.net.node(1).status().firstIndex).toBe(compacted.snapshotIndex + 1);
    return compacted;
  }

  it('a far-behind follower is sent a snapshot after the leader compacts', () => {
    const { net, snapshotIndex } = compactedAfterTwenty();
    net.clearTrace();
    net.heal();
    net.tick(3);
    const snaps = net.sent((m) => m.type === MessageType.Snap);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]).toMatchObject({ from: 1, to: 3 });
    const follower = net.peer(3);
    expect(follower.snapshots).toHaveLength(1);
    expect(follower.snapshots[0].metadata).toMatchObject({ index: snapshotIndex, term: net.node(1).term() });
    expect(text(follower.snapshots[0].data)).toBe(`image@${snapshotIndex}`);
    expect(follower.snapshots[0].metadata.confState.voters).toEqual([1, 2, 3]);
    expect(follower.storage.firstIndex()).toBe(snapshotIndex + 1);
    expect(follower.node.appliedIndex()).toBe(snapshotIndex);
    expect(follower.node.committedIndex()).toBe(snapshotIndex);
    // It never saw the compacted entries one by one.
    expect(net.appliedData(3)).toEqual([]);

    net.propose(1, 'after');
    expect(net.appliedData(3)).toEqual(['after']);
    expect(net.node(1).status().progress[3]).toMatchObject({ match: snapshotIndex + 1, state: 'replicate' });
  });

  it('a leader whose snapshot is temporarily unavailable retries later', () => {
    const { net, snapshotIndex } = compactedAfterTwenty();
    net.peer(1).storage.snapshotUnavailable = true;
    net.heal();
    net.tick(3);
    expect(net.sent((m) => m.type === MessageType.Snap)).toEqual([]);
    expect(net.node(3).committedIndex()).toBeLessThan(snapshotIndex);
    net.peer(1).storage.snapshotUnavailable = false;
    net.tick(3);
    expect(net.sent((m) => m.type === MessageType.Snap)).toHaveLength(1);
    expect(net.node(3).committedIndex()).toBe(snapshotIndex);
  });

  it('a snapshot lost in transit is sent again', () => {
    const { net, snapshotIndex } = compactedAfterTwenty();
    net.heal();
    let dropped = 0;
    net.intercept = (m) => (m.type === MessageType.Snap && dropped++ === 0 ? null : m);
    net.tick(5);
    expect(net.sent((m) => m.type === MessageType.Snap).length).toBe(2);
    expect(net.node(3).committedIndex()).toBe(snapshotIndex);
  });
});

describe('proposals', () => {
  it('a proposal on a follower is forwarded to the leader and commits everywhere', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(2).propose(bytes('via-follower'));
    net.drain();
    const forwarded = net.sent((m) => m.type === MessageType.Prop);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toMatchObject({ from: 2, to: 1 });
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['via-follower']);
  });

  it('a follower with forwarding disabled drops the proposal', () => {
    const net = new Network([1, 2, 3], { config: { disableProposalForwarding: true } });
    net.elect(1);
    expect(catchDrop(() => net.node(2).propose(bytes('x'))).reason).toBe(DropReason.ForwardingDisabled);
  });

  it('a proposal with no leader throws ProposalDroppedError', () => {
    const net = new Network([1, 2, 3]);
    expect(catchDrop(() => net.node(1).propose(bytes('x'))).reason).toBe(DropReason.NoLeader);
    // Nor while campaigning.
    net.isolate(1);
    net.node(1).campaign();
    net.drain();
    expect(net.node(1).status().state).toBe('pre-candidate');
    expect(catchDrop(() => net.node(1).propose(bytes('x'))).reason).toBe(DropReason.NoLeader);
    // Nor on a leader that stepped down when it lost its quorum.
    net.heal();
    net.elect(2);
    net.isolate(2);
    net.tick(2 * 10, [2]);
    expect(net.node(2).isLeader()).toBe(false);
    expect(catchDrop(() => net.node(2).propose(bytes('x'))).reason).toBe(DropReason.NoLeader);
  });
});
