// ReadIndex, leadership transfer and membership changes.

import { describe, expect, it } from 'vitest';
import {
  ConfChangeType,
  DropReason,
  EntryType,
  MessageType,
  ProposalDroppedError,
  type ConfChange,
  type Message,
} from '../../src/raft/index.js';
import { inspectRaft } from '../../src/raft/inspect.js';
import { Network, bytes, diskLog, text, catchDrop } from './harness.js';


function change(type: ConfChange['type'], nodeId: number): ConfChange {
  return { type, nodeId, context: new Uint8Array(0) };
}

/** The index of the applied entry carrying `data` on member `id`. */
function indexOf(net: Network, id: number, data: string): number {
  const entry = net.peer(id).applied.find((e) => e.type === EntryType.Normal && text(e.data) === data);
  if (entry === undefined) throw new Error(`${id} did not apply ${data}`);
  return entry.index;
}

function readRoundHeartbeats(net: Network, from: number): Message[] {
  return net.sent((m) => m.type === MessageType.Heartbeat && m.from === from && m.readRound !== 0);
}

describe('ReadIndex', () => {
  it('a read on the leader sees every write committed before it', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 5; i++) net.propose(1, `w${i}`);
    const lastWrite = indexOf(net, 1, 'w4');
    net.node(1).readIndex(bytes('r1'));
    net.drain();
    const states = net.peer(1).readStates;
    expect(states).toHaveLength(1);
    expect(text(states[0].context)).toBe('r1');
    expect(states[0].index).toBeGreaterThanOrEqual(lastWrite);
    expect(states[0].index).toBe(net.node(1).committedIndex());
  });

  it('a read is answered only once a quorum confirms the leadership', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.cut(1, 2);
    net.cut(1, 3);
    net.node(1).readIndex(bytes('r'));
    net.drain();
    expect(readRoundHeartbeats(net, 1).length).toBe(2); // sent, but lost
    expect(net.peer(1).readStates).toEqual([]);
    net.heal();
    net.tick(1, [1]); // the next heartbeats carry the round again
    expect(net.peer(1).readStates.map((s) => text(s.context))).toEqual(['r']);
  });

  it('many concurrent reads share heartbeat rounds', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.clearTrace();
    const reads = 50;
    for (let i = 0; i < reads; i++) net.node(1).readIndex(bytes(`r${i}`));
    net.drain();
    const heartbeats = readRoundHeartbeats(net, 1);
    // The first read starts round 1 at once; the other 49 arrive while it is in flight and all
    // share round 2. Two rounds, one heartbeat per follower each.
    expect(new Set(heartbeats.map((m) => m.readRound)).size).toBe(2);
    expect(heartbeats).toHaveLength(4);
    expect(net.sent((m) => m.type === MessageType.Heartbeat)).toHaveLength(4);
    const states = net.peer(1).readStates;
    expect(states.map((s) => text(s.context))).toEqual(Array.from({ length: reads }, (_, i) => `r${i}`));
    const committed = net.node(1).committedIndex();
    for (const state of states) expect(state.index).toBe(committed);
  });

  it('reads arriving while a round is in flight wait for one next round', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.cut(1, 2);
    net.cut(1, 3);
    net.node(1).readIndex(bytes('first'));
    net.drain(); // round 1 is in flight (its heartbeats were lost)
    for (let i = 0; i < 20; i++) net.node(1).readIndex(bytes(`later${i}`));
    net.drain();
    expect(new Set(readRoundHeartbeats(net, 1).map((m) => m.readRound))).toEqual(new Set([1]));
    net.heal();
    net.tick(1, [1]);
    expect(net.peer(1).readStates).toHaveLength(21);
    expect(new Set(readRoundHeartbeats(net, 1).map((m) => m.readRound)).size).toBe(2);
  });

  it('a read on a follower is forwarded to the leader and answered', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'w');
    const write = indexOf(net, 1, 'w');
    net.clearTrace();
    net.node(2).readIndex(bytes('f'));
    net.drain();
    expect(net.sent((m) => m.type === MessageType.ReadIndex)).toMatchObject([{ from: 2, to: 1 }]);
    expect(net.sent((m) => m.type === MessageType.ReadIndexResp)).toMatchObject([{ from: 1, to: 2 }]);
    const states = net.peer(2).readStates;
    expect(states.map((s) => text(s.context))).toEqual(['f']);
    expect(states[0].index).toBeGreaterThanOrEqual(write);
    expect(net.node(2).appliedIndex()).toBeGreaterThanOrEqual(states[0].index);
    expect(net.peer(1).readStates).toEqual([]);
  });

  it('a read on a member with no leader is dropped', () => {
    const net = new Network([1, 2, 3]);
    expect(catchDrop(() => net.node(1).readIndex(bytes('x'))).reason).toBe(DropReason.NoLeader);
  });

  it('a new leader defers reads until it commits an entry of its own term', () => {
    const net = new Network([1, 2, 3], { config: { checkQuorum: false } });
    net.elect(1);
    // 2 hears of entries but not of their commitment.
    net.intercept = (m) => (m.from === 1 && m.to === 2 && (m.type === MessageType.App || m.type === MessageType.Heartbeat) ? { ...m, commit: Math.min(m.commit, 2) } : m);
    net.propose(1, 'w');
    const write = indexOf(net, 1, 'w');
    expect(net.node(2).committedIndex()).toBeLessThan(write);

    // 1 disappears; 2 is elected but its appends are lost, so its empty entry does not commit.
    net.isolate(1);
    net.intercept = (m) => (m.from === 2 && m.type === MessageType.App ? null : m);
    net.elect(2);
    expect(net.node(2).committedIndex()).toBeLessThan(write);
    net.clearTrace();
    net.node(2).readIndex(bytes('r'));
    net.drain();
    expect(net.peer(2).readStates).toEqual([]);
    expect(readRoundHeartbeats(net, 2)).toEqual([]);

    net.intercept = null;
    net.tick(1, [2]);
    const states = net.peer(2).readStates;
    expect(states.map((s) => text(s.context))).toEqual(['r']);
    expect(states[0].index).toBeGreaterThan(write); // includes w and 2's empty entry
    expect(inspectRaft(net.node(2)).log.term(states[0].index)).toBe(net.node(2).term());
  });
});

describe('leadership transfer', () => {
  it('to an up-to-date follower: TimeoutNow at once, and it wins the next term', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'w');
    const term = net.node(1).term();
    net.clearTrace();
    net.node(1).transferLeadership(2);
    net.drain();
    expect(net.sent((m) => m.type === MessageType.TimeoutNow)).toMatchObject([{ from: 1, to: 2 }]);
    // The transfer skips the pre-vote and is not refused by the followers' leases.
    const votes = net.sent((m) => m.type === MessageType.Vote && m.from === 2);
    expect(votes.length).toBe(2);
    for (const vote of votes) expect(vote.transfer).toBe(true);
    expect(net.sent((m) => m.type === MessageType.PreVote)).toEqual([]);
    expect(net.node(2).isLeader()).toBe(true);
    expect(net.node(2).term()).toBe(term + 1);
    for (const id of [1, 3]) {
      expect(net.node(id).status().state).toBe('follower');
      expect(net.node(id).leaderId()).toBe(2);
    }
    net.propose(2, 'after');
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['w', 'after']);
  });

  it('a transfer asked of a follower is forwarded to the leader', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(3).transferLeadership(3);
    net.drain();
    expect(net.sent((m) => m.type === MessageType.TransferLeader)).toMatchObject([{ from: 3, to: 1 }]);
    expect(net.node(3).isLeader()).toBe(true);
  });

  it('to a lagging follower: caught up first, proposals dropped meanwhile', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.cut(1, 3);
    for (let i = 0; i < 5; i++) net.propose(1, `w${i}`);
    const last = net.node(1).lastIndex();
    expect(net.node(3).lastIndex()).toBeLessThan(last);
    net.clearTrace();
    net.node(1).transferLeadership(3);
    net.drain();
    expect(net.node(1).status().leadTransferee).toBe(3);
    expect(net.sent((m) => m.type === MessageType.TimeoutNow)).toEqual([]);
    expect(catchDrop(() => net.node(1).propose(bytes('during'))).reason).toBe(DropReason.TransferInProgress);

    net.heal();
    net.tick(1, [1]);
    const timeoutNow = net.trace.findIndex((t) => t.message.type === MessageType.TimeoutNow);
    expect(timeoutNow).toBeGreaterThanOrEqual(0);
    // Sent only after 3 acknowledged the leader's last index.
    const ackBefore = net.trace
      .slice(0, timeoutNow)
      .some((t) => t.delivered && t.message.type === MessageType.AppResp && t.message.from === 3 && !t.message.reject && t.message.index === last);
    expect(ackBefore).toBe(true);
    expect(net.node(3).isLeader()).toBe(true);
    expect(net.appliedData(3)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    expect(diskLog(net.peer(3).storage)).toEqual(diskLog(net.peer(1).storage));
  });

  it('a transfer that cannot finish is abandoned after an election timeout', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'w');
    net.node(1).transferLeadership(3);
    net.drain();
    expect(() => net.node(1).propose(bytes('x'))).toThrow(ProposalDroppedError);
    net.tick(10, [1, 2]);
    expect(net.node(1).isLeader()).toBe(true);
    expect(net.node(1).status().leadTransferee).toBe(0);
    net.propose(1, 'again');
    expect(net.appliedData(2)).toEqual(['w', 'again']);
  });
});

describe('membership', () => {
  function withLearner(): Network {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'before');
    net.addNode(4);
    net.node(1).proposeConfChange(change(ConfChangeType.AddLearnerNode, 4));
    net.drain();
    return net;
  }

  it('a new learner is added everywhere and receives the log', () => {
    const net = withLearner();
    for (const id of [1, 2, 3, 4]) {
      expect(net.peer(id).confStates.at(-1), `member ${id}`).toEqual({ voters: [1, 2, 3], learners: [4] });
    }
    expect(net.node(4).isLearner()).toBe(true);
    expect(net.node(1).status().progress[4]).toMatchObject({ state: 'replicate' });
    // The empty joiner got the bootstrap snapshot, then every entry after it.
    expect(net.peer(4).snapshots.map((s) => s.metadata.index)).toEqual([1]);
    expect(diskLog(net.peer(4).storage)).toEqual(diskLog(net.peer(1).storage));
    expect(net.appliedData(4)).toEqual(['before']);
    net.propose(1, 'after');
    expect(net.appliedData(4)).toEqual(['before', 'after']);
    expect(net.node(4).committedIndex()).toBe(net.node(1).committedIndex());
  });

  it('AddNode promotes a learner to a voter that can lead', () => {
    const net = withLearner();
    net.node(1).proposeConfChange(change(ConfChangeType.AddNode, 4));
    net.drain();
    for (const id of [1, 2, 3, 4]) expect(net.peer(id).confStates.at(-1)).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(net.node(4).isLearner()).toBe(false);
    net.node(1).transferLeadership(4);
    net.drain();
    expect(net.node(4).isLeader()).toBe(true);
    // The quorum is now 3 of 4: with two voters cut off nothing commits.
    net.cut(4, 1);
    net.cut(4, 2);
    const committed = net.node(4).committedIndex();
    net.propose(4, 'x');
    expect(net.node(4).committedIndex()).toBe(committed);
    net.heal();
    net.tick(1, [4]);
    expect(net.node(4).committedIndex()).toBe(committed + 1);
  });

  it('a removed member gets no more appends and no longer counts', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).proposeConfChange(change(ConfChangeType.RemoveNode, 3));
    net.drain();
    for (const id of [1, 2]) expect(net.peer(id).confStates.at(-1)).toEqual({ voters: [1, 2], learners: [] });
    net.clearTrace();
    net.propose(1, 'w');
    net.tick(3, [1, 2]);
    expect(net.sent((m) => m.to === 3)).toEqual([]);
    expect(net.appliedData(2)).toEqual(['w']);
    // With voters {1, 2} both are needed now.
    net.cut(1, 2);
    const committed = net.node(1).committedIndex();
    net.propose(1, 'alone');
    expect(net.node(1).committedIndex()).toBe(committed);
  });

  it('a leader that removes itself steps down and the others elect a leader', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).proposeConfChange(change(ConfChangeType.RemoveNode, 1));
    net.drain();
    expect(net.node(1).status().state).toBe('follower');
    expect(net.node(1).voters().includes(1)).toBe(false);
    for (const id of [2, 3]) expect(net.peer(id).confStates.at(-1)).toEqual({ voters: [2, 3], learners: [] });
    net.clearTrace();
    let leader: number | undefined;
    for (let tick = 0; tick < 200 && leader === undefined; tick++) {
      net.tick(1);
      leader = net.leaderAmong([2, 3]);
    }
    expect(leader).toBeDefined();
    expect(net.sent((m) => m.from === 1 && (m.type === MessageType.PreVote || m.type === MessageType.Vote))).toEqual([]);
    net.propose(leader as number, 'w');
    for (const id of [2, 3]) expect(net.appliedData(id)).toEqual(['w']);
  });

  it('only one conf change may be pending: a second one becomes an empty normal entry', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.addNode(4);
    net.addNode(5);
    const first = net.node(1).lastIndex() + 1;
    net.node(1).proposeConfChange(change(ConfChangeType.AddLearnerNode, 4));
    net.node(1).proposeConfChange(change(ConfChangeType.AddLearnerNode, 5));
    net.drain();
    const [confEntry, replaced] = net.peer(1).storage.entries(first, first + 2, Infinity);
    expect(confEntry.type).toBe(EntryType.ConfChange);
    expect(replaced.type).toBe(EntryType.Normal);
    expect(replaced.data.byteLength).toBe(0);
    for (const id of [1, 2, 3]) expect(net.peer(id).confStates).toEqual([{ voters: [1, 2, 3], learners: [4] }]);
    // Once the first is applied, the next may be proposed.
    net.node(1).proposeConfChange(change(ConfChangeType.AddLearnerNode, 5));
    net.drain();
    for (const id of [1, 2, 3]) expect(net.peer(id).confStates.at(-1)).toEqual({ voters: [1, 2, 3], learners: [4, 5] });
  });
});
