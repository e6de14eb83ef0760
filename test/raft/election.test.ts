// Elections: pre-vote, check-quorum and its leases, the randomized election timeout, learners.

import { describe, expect, it } from 'vitest';
import { MessageType, RawNode, SeededRandom, message } from '../../src/raft/index.js';
import { inspectRaft } from '../../src/raft/inspect.js';
import { Network, bootstrapStorage, bytes } from './harness.js';

const ELECTION = 10;

describe('pre-vote', () => {
  it('a partitioned follower rejoining neither bumps the term nor deposes the leader', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const term = net.node(1).term();
    net.isolate(3);
    for (let i = 0; i < 5; i++) net.propose(1, `w${i}`);
    net.tick(100);
    // 3 kept trying, but only with pre-votes, which never change its term.
    expect(net.sent((m) => m.type === MessageType.PreVote && m.from === 3).length).toBeGreaterThan(3);
    expect(net.sent((m) => m.type === MessageType.Vote && m.from === 3)).toEqual([]);
    expect(net.node(3).term()).toBe(term);

    net.heal();
    net.tick(30);
    for (const id of [1, 2, 3]) {
      expect(net.node(id).term(), `member ${id}`).toBe(term);
      expect(net.node(id).leaderId(), `member ${id}`).toBe(1);
    }
    expect(net.node(1).isLeader()).toBe(true);
    expect(net.appliedData(3)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
  });

  it('control: without pre-vote (and check-quorum) the rejoining member disrupts the cluster', () => {
    const net = new Network([1, 2, 3], { config: { preVote: false, checkQuorum: false } });
    net.elect(1);
    const term = net.node(1).term();
    net.isolate(3);
    net.tick(100);
    expect(net.node(3).term()).toBeGreaterThan(term + 3);
    net.heal();
    net.tick(50);
    expect(net.node(1).term()).toBeGreaterThan(term + 3);
  });
});

describe('check-quorum', () => {
  it('a leader cut off from a majority steps down within two election timeouts', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.tick(3);
    const elapsedAtCut = inspectRaft(net.node(1)).electionElapsed;
    net.isolate(1);
    let steppedDownAfter: number | undefined;
    for (let tick = 1; tick <= 2 * ELECTION; tick++) {
      net.tick(1, [1]);
      if (!net.node(1).isLeader()) {
        steppedDownAfter = tick;
        break;
      }
    }
    expect(steppedDownAfter).toBeDefined();
    // Not at the first check: both followers answered within that election timeout.
    expect(steppedDownAfter).toBeGreaterThan(ELECTION - elapsedAtCut);
    expect(net.node(1).status().state).toBe('follower');
    expect(net.node(1).leaderId()).toBe(0);
    // The majority elects a leader of its own.
    const leader = net.tickUntilLeader([2, 3], 100);
    expect(net.node(leader).term()).toBeGreaterThan(net.node(1).term());
  });

  it('a leader that hears from a majority keeps leading', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const term = net.node(1).term();
    net.cut(1, 3); // one follower lost; 1 and 2 are still a majority
    net.tick(100, [1, 2]);
    expect(net.node(1).isLeader()).toBe(true);
    expect(net.node(1).term()).toBe(term);
  });

  it('a follower inside its leader lease ignores a vote request of a higher term', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.tick(2);
    const follower = net.node(2);
    const term = follower.term();
    const log = inspectRaft(follower).log;
    follower.step(message({ type: MessageType.Vote, from: 3, to: 2, term: term + 1, index: log.lastIndex(), logTerm: log.lastTerm() }));
    expect(follower.term()).toBe(term);
    expect(follower.status().vote).not.toBe(3);
    expect(follower.leaderId()).toBe(1);
    const rd = follower.ready();
    expect([...rd.messages, ...rd.messagesAfterPersist].filter((m) => m.type === MessageType.VoteResp)).toEqual([]);
    follower.advance();
  });

  it('control: without check-quorum the same vote request is granted', () => {
    const net = new Network([1, 2, 3], { config: { checkQuorum: false } });
    net.elect(1);
    net.tick(2);
    const follower = net.node(2);
    const term = follower.term();
    const log = inspectRaft(follower).log;
    follower.step(message({ type: MessageType.Vote, from: 3, to: 2, term: term + 1, index: log.lastIndex(), logTerm: log.lastTerm() }));
    expect(follower.term()).toBe(term + 1);
    expect(follower.status().vote).toBe(3);
  });

  it('a member cut off from the leader cannot win votes from members inside the lease', () => {
    // Without pre-vote, 3 does raise its term; the lease keeps that from deposing 1.
    const net = new Network([1, 2, 3], { config: { preVote: false } });
    net.elect(1);
    const term = net.node(1).term();
    net.cut(1, 3);
    net.tick(100);
    expect(net.node(3).term()).toBeGreaterThan(term);
    expect(net.sent((m) => m.type === MessageType.Vote && m.from === 3 && m.to === 2).length).toBeGreaterThan(0);
    expect(net.sent((m) => m.type === MessageType.VoteResp && m.from === 2 && m.to === 3)).toEqual([]);
    expect(net.node(1).isLeader()).toBe(true);
    expect(net.node(1).term()).toBe(term);
    expect(net.node(2).term()).toBe(term);
    expect(net.node(2).leaderId()).toBe(1);
  });
});

describe('randomized election timeout', () => {
  it('a follower campaigns after a timeout drawn from [electionTicks, 2*electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 100; seed++) {
      const node = new RawNode({ id: 1, electionTicks: ELECTION, heartbeatTicks: 1, storage: bootstrapStorage([1, 2, 3]), random: new SeededRandom(seed) });
      expect(inspectRaft(node).randomizedElectionTimeout).toBeGreaterThanOrEqual(ELECTION);
      expect(inspectRaft(node).randomizedElectionTimeout).toBeLessThan(2 * ELECTION);
      let ticks = 0;
      while (node.status().state === 'follower') {
        node.tick();
        ticks++;
        expect(ticks).toBeLessThan(2 * ELECTION);
      }
      expect(ticks).toBeGreaterThanOrEqual(ELECTION);
      expect(node.status().state).toBe('pre-candidate');
      seen.add(ticks);
    }
    // Randomized, not a constant: most of the ten possible values occur.
    expect(seen.size).toBeGreaterThanOrEqual(7);
  });

  it('the timeout is drawn again each time the member becomes a follower', () => {
    const net = new Network([1, 2, 3], { seed: 3 });
    const timeouts = new Set<number>();
    for (let term = 0; term < 20; term++) {
      const raft = inspectRaft(net.node(2));
      raft.becomeFollower(raft.term + 1, 0);
      expect(raft.randomizedElectionTimeout).toBeGreaterThanOrEqual(ELECTION);
      expect(raft.randomizedElectionTimeout).toBeLessThan(2 * ELECTION);
      timeouts.add(raft.randomizedElectionTimeout);
    }
    expect(timeouts.size).toBeGreaterThan(3);
  });
});

describe('learners', () => {
  it('never campaign, not on timeouts and not on TimeoutNow', () => {
    const net = new Network([1, 2, 3], { learners: [4] });
    expect(net.node(4).isLearner()).toBe(true);
    net.isolate(1);
    net.isolate(2);
    net.isolate(3);
    net.tick(200, [4]);
    net.node(4).step(message({ type: MessageType.TimeoutNow, from: 1, to: 4, term: 1 }));
    net.drain();
    expect(net.node(4).status().state).toBe('follower');
    expect(net.sent((m) => m.from === 4)).toEqual([]);
  });

  it('do not count toward the commit quorum', () => {
    const net = new Network([1, 2, 3], { learners: [4, 5] });
    net.elect(1);
    const committed = net.node(1).committedIndex();
    net.cut(1, 2);
    net.cut(1, 3);
    net.propose(1, 'x');
    // Both learners hold the entry: with the leader that would be 3 of 5 members, but not of the voters.
    for (const id of [4, 5]) expect(net.peer(id).storage.lastIndex()).toBe(committed + 1);
    expect(net.node(1).committedIndex()).toBe(committed);
    net.heal();
    net.tick(1, [1]);
    expect(net.node(1).committedIndex()).toBe(committed + 1);
  });

  it('do not count toward an election quorum', () => {
    const net = new Network([1, 2, 3], { learners: [4, 5] });
    net.cut(1, 2);
    net.cut(1, 3);
    net.node(1).campaign();
    net.drain();
    expect(net.node(1).isLeader()).toBe(false);
    expect(net.sent((m) => (m.type === MessageType.PreVote || m.type === MessageType.Vote) && (m.to === 4 || m.to === 5))).toEqual([]);
  });

  it('do not keep a leader alive under check-quorum', () => {
    const net = new Network([1, 2, 3], { learners: [4, 5] });
    net.elect(1);
    net.cut(1, 2);
    net.cut(1, 3);
    net.tick(2 * ELECTION, [1, 4, 5]);
    expect(net.node(1).status().state).toBe('follower');
    // The learners did answer all along.
    expect(net.sent((m) => m.type === MessageType.HeartbeatResp && m.from === 4).length).toBeGreaterThan(ELECTION);
  });

  it('a learner forwards proposals and receives the committed log', () => {
    const net = new Network([1, 2, 3], { learners: [4] });
    net.elect(1);
    net.node(4).propose(bytes('from-learner'));
    net.drain();
    for (const id of [1, 2, 3, 4]) expect(net.appliedData(id)).toEqual(['from-learner']);
  });
});

describe('forgetting a leader that is known to be gone', () => {
  it('followers that forget a dead leader elect a new one within a few ticks, not an election timeout', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const term = net.node(1).term();
    net.isolate(1);
    for (const id of [2, 3]) net.node(id).forgetLeader();
    expect(net.node(2).leaderId()).toBe(0);
    // Each campaigns within 1–4 ticks; pre-votes are granted because neither is in a lease any more.
    net.tick(5, [2, 3]);
    const leaders = [2, 3].filter((id) => net.node(id).isLeader());
    expect(leaders).toHaveLength(1);
    expect(net.node(leaders[0]!).term()).toBe(term + 1);
  });

  it('control: without forgetting, the followers wait out a whole election timeout', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.tick(5, [2, 3]);
    expect([2, 3].filter((id) => net.node(id).isLeader())).toEqual([]);
  });

  it('a follower that forgot a leader which is in fact alive remembers it at its next heartbeat, and the leader keeps leading', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const term = net.node(1).term();
    net.node(2).forgetLeader();
    net.tick(6);
    expect(net.node(1).isLeader()).toBe(true);
    expect(net.node(1).term()).toBe(term);
    expect(net.node(2).leaderId()).toBe(1);
  });

  it('does nothing on a leader or a follower without a leader', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).forgetLeader();
    expect(net.node(1).isLeader()).toBe(true);
    expect(net.node(1).leaderId()).toBe(1);
  });
});
