// RawNode's read-only views (leaderId, term, isLeader, voters, matchIndexOf, ...) report what the
// core holds, so that a driver never needs to reach into the core (inspectRaft is for tests only).

import { describe, expect, it } from 'vitest';
import { MessageType, StateType, type Message } from '../../src/raft/index.js';
import { inspectRaft } from '../../src/raft/inspect.js';
import { Network, compactedLeader, text } from './harness.js';

describe('RawNode read-only views', () => {
  it('each member reports the leader, term, roles, configuration and log indexes the core holds', () => {
    const net = new Network([1, 2, 3], { learners: [4] });
    net.elect(2);
    net.propose(2, 'a');
    net.propose(2, 'b');
    for (const id of net.ids()) {
      const node = net.node(id);
      const raft = inspectRaft(node);
      expect(node.leaderId()).toBe(2);
      expect(node.leaderId()).toBe(raft.lead);
      expect(node.term()).toBe(raft.term);
      expect(node.isLeader()).toBe(id === 2);
      expect(node.isLeader()).toBe(raft.state === StateType.Leader);
      expect(node.isLearner()).toBe(id === 4);
      expect(node.voters()).toEqual([1, 2, 3]);
      expect(node.confState()).toEqual({ voters: [1, 2, 3], learners: [4] });
      expect(node.confState()).toEqual(raft.tracker.confState());
      expect(node.committedIndex()).toBe(raft.log.committed);
      expect(node.appliedIndex()).toBe(raft.log.applied);
      expect(node.lastIndex()).toBe(raft.log.lastIndex());
      expect(node.appliedIndex()).toBe(net.peer(id).applied.at(-1)?.index);
    }
  });

  it('only the leader reports match indexes, one per member', () => {
    const net = new Network([1, 2, 3], { learners: [4] });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'only 1, 2 and 4 hear this');
    const leader = net.node(1);
    for (const id of [1, 2, 3, 4]) expect(leader.matchIndexOf(id)).toBe(inspectRaft(leader).tracker.progress.get(id)?.match);
    expect(leader.matchIndexOf(2)).toBe(leader.lastIndex());
    expect(leader.matchIndexOf(4)).toBe(leader.lastIndex());
    expect(leader.matchIndexOf(3)).toBeLessThan(leader.lastIndex());
    expect(leader.matchIndexOf(5)).toBeUndefined();
    expect(net.node(2).matchIndexOf(1)).toBeUndefined();
  });

  it('a follower reports the data of a snapshot it accepted until it is persisted', () => {
    const { net, snapshotIndex } = compactedLeader(5);

    let held: Message | null = null;
    net.intercept = (m) => {
      if (m.type !== MessageType.Snap) return m;
      held ??= m;
      return null;
    };
    net.heal();
    net.tick(3);
    expect(held).not.toBeNull();
    const follower = net.node(3);
    expect(follower.pendingSnapshotData()).toBeUndefined();
    follower.step(held!);
    const pending = follower.pendingSnapshotData();
    expect(pending).toBe(inspectRaft(follower).log.unstable.snapshot?.data);
    expect(text(pending!)).toBe(`image@${snapshotIndex}`);
    net.drain();
    expect(follower.pendingSnapshotData()).toBeUndefined();
    expect(follower.appliedIndex()).toBe(snapshotIndex);
  });
});
