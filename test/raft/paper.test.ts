// Scenarios from the Raft paper (Ongaro & Ousterhout): Figure 7 (log repair), Figure 8 (the commit
// hazard), election safety and the leader's empty entry.

import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, SeededRandom, type Message } from '../../src/raft/index.js';
import { Network, diskTerms, storageWithLog, text } from './harness.js';

/** An interceptor that strips from the leader's appends every entry of term >= `term`. */
function stripEntriesFrom(leader: number, term: number): (m: Message) => Message | null {
  return (m) => {
    if (m.type !== MessageType.App || m.from !== leader) return m;
    return { ...m, entries: m.entries.filter((e) => e.term < term) };
  };
}

describe('Figure 7: a new leader repairs divergent follower logs', () => {
  // Index 1 (term 1) is the bootstrap snapshot; the rest are the paper's logs.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followerLogs: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  const names = Object.keys(followerLogs);
  const voters = [1, ...names.map((_, i) => i + 2)];

  function figure7(): Network {
    const storages = new Map([[1, storageWithLog(voters, leaderLog, { term: 7 })]]);
    names.forEach((name, i) => storages.set(i + 2, storageWithLog(voters, followerLogs[name], { term: 7 })));
    return new Network(voters, { storages });
  }

  it('elects the leader of term 8 with votes from a, b, e, f but not c, d', () => {
    const net = figure7();
    net.elect(1);
    expect(net.node(1).term()).toBe(8);
    const votes = net.sent((m) => m.type === MessageType.VoteResp && m.to === 1);
    const granted = votes.filter((m) => !m.reject).map((m) => m.from).sort();
    const rejected = votes.filter((m) => m.reject).map((m) => m.from).sort();
    expect(granted).toEqual([2, 3, 6, 7]); // a, b, e, f
    expect(rejected).toEqual([4, 5]); // c, d are more up to date
  });

  it('makes every follower log identical to the leader log', () => {
    const net = figure7();
    net.elect(1);
    net.propose(1, 'after-election');
    const expected = [...leaderLog, 8, 8];
    expect(diskTerms(net.peer(1).storage)).toEqual(expected);
    const leaderEntries = net.peer(1).storage.entries(2, expected.length + 1, Infinity);
    for (const id of voters) {
      const { storage, node } = net.peer(id);
      expect(diskTerms(storage), `follower ${id}`).toEqual(expected);
      expect(storage.entries(2, expected.length + 1, Infinity).map((e) => text(e.data))).toEqual(leaderEntries.map((e) => text(e.data)));
      expect(node.committedIndex()).toBe(expected.length);
      expect(net.appliedData(id).at(-1)).toBe('after-election');
    }
    // c's extra term-6 entry and d's term-7 entries were replaced, never applied.
    for (const id of voters) {
      for (const entry of net.peer(id).applied) expect(entry.term).toBe(expected[entry.index - 1]);
    }
  });

  it('finds each match point with at most one rejection per follower', () => {
    const net = figure7();
    net.elect(1);
    for (const id of voters.slice(1)) {
      const rejections = net.sent((m) => m.type === MessageType.AppResp && m.reject && m.from === id);
      expect(rejections.length, `follower ${id}`).toBeLessThanOrEqual(1);
    }
    // a, b, e and f each reject exactly once; c and d match at the leader's last index at once.
    const rejecters = net.sent((m) => m.type === MessageType.AppResp && m.reject).map((m) => m.from).sort();
    expect(rejecters).toEqual([2, 3, 6, 7]);
  });
});

describe('Figure 8: an old-term entry on a majority is not committed by counting', () => {
  const voters = [1, 2, 3, 4, 5];

  /**
   * State (b) of Figure 8, shifted by one index for the bootstrap snapshot: S1 and S2 hold the
   * term-2 entry at index 2, S5 holds a term-3 entry there, S3 and S4 voted for S5 in term 3.
   * Then (c): S5 is down and S1 is elected for term 4; the interceptor keeps the term-4 entries
   * from the followers, so S1 replicates only the term-2 entry, to a majority (S1, S2, S3, S4).
   */
  function figure8c(): Network {
    const storages = new Map([
      [1, storageWithLog(voters, [1, 2], { term: 3 })],
      [2, storageWithLog(voters, [1, 2], { term: 3 })],
      [3, storageWithLog(voters, [1], { term: 3, vote: 5 })],
      [4, storageWithLog(voters, [1], { term: 3, vote: 5 })],
      [5, storageWithLog(voters, [1, 3], { term: 3, vote: 5 })],
    ]);
    // Without check-quorum leases, so that S5 can be elected at once in (d).
    const net = new Network(voters, { storages, config: { checkQuorum: false } });
    net.isolate(5);
    net.intercept = stripEntriesFrom(1, 4);
    net.elect(1);
    return net;
  }

  it('(c) the term-2 entry reaches a majority but the commit index does not move', () => {
    const net = figure8c();
    const leader = net.node(1);
    expect(leader.term()).toBe(4);
    expect(diskTerms(net.peer(1).storage)).toEqual([1, 2, 4]);
    for (const id of [2, 3, 4]) expect(diskTerms(net.peer(id).storage), `S${id}`).toEqual([1, 2]);
    const progress = leader.status().progress;
    expect([2, 3, 4].map((id) => progress[id].match)).toEqual([2, 2, 2]);
    expect(leader.committedIndex()).toBe(1);
    for (const id of voters) {
      expect(net.node(id).committedIndex(), `S${id}`).toBe(1);
      expect(net.peer(id).applied).toEqual([]);
    }
    // More heartbeats do not change that.
    net.tick(5, [1]);
    expect(leader.committedIndex()).toBe(1);
  });

  it('(d) so S5 may still be elected and overwrite it: nobody ever applied it', () => {
    const net = figure8c();
    net.intercept = null;
    net.heal();
    net.isolate(1);
    // S5's first pre-vote (for term 4) is refused and teaches it term 4; the second one wins.
    net.node(5).campaign();
    net.drain();
    expect(net.node(5).term()).toBe(4);
    net.elect(5);
    expect(net.node(5).term()).toBe(5);
    for (const id of [2, 3, 4, 5]) {
      expect(diskTerms(net.peer(id).storage), `S${id}`).toEqual([1, 3, 5]);
      expect(net.node(id).committedIndex()).toBe(3);
      expect(net.peer(id).applied.map((e) => [e.index, e.term])).toEqual([[2, 3], [3, 5]]);
    }
    expect(net.peer(1).applied).toEqual([]);
  });

  it('(e) once an entry of term 4 reaches a majority, both commit and S5 can no longer win', () => {
    const net = figure8c();
    net.intercept = null;
    net.tick(1, [1]); // a heartbeat round lets S1 send its term-4 entry
    expect(net.node(1).committedIndex()).toBe(3);
    expect(net.peer(1).applied.map((e) => [e.index, e.term])).toEqual([[2, 2], [3, 4]]);
    net.heal();
    net.isolate(1);
    // Twice: the first pre-vote only teaches S5 term 4 (as in (d)).
    for (let attempt = 0; attempt < 2; attempt++) {
      net.node(5).campaign();
      net.drain();
      expect(net.node(5).isLeader()).toBe(false);
    }
    expect(net.node(5).term()).toBe(4);
    const refusals = net.sent((m) => m.type === MessageType.PreVoteResp && m.to === 5 && m.term === 4 && m.reject);
    expect(refusals.length).toBe(6); // S2, S3 and S4 refuse both attempts
    for (const id of [2, 3, 4]) expect(diskTerms(net.peer(id).storage).slice(0, 3), `S${id}`).toEqual([1, 2, 4]);
  });
});

describe('commit rule: only a current-term entry commits by counting', () => {
  it('old-term entries commit only together with the new leader’s own entry', () => {
    const voters = [1, 2, 3];
    const storages = new Map([
      [1, storageWithLog(voters, [1, 2, 2, 2], { term: 2 })],
      [2, storageWithLog(voters, [1], { term: 2 })],
      [3, storageWithLog(voters, [1], { term: 2 })],
    ]);
    const net = new Network(voters, { storages });
    net.intercept = stripEntriesFrom(1, 3);
    net.elect(1);
    expect(net.node(1).term()).toBe(3);
    for (const id of [2, 3]) expect(diskTerms(net.peer(id).storage)).toEqual([1, 2, 2, 2]);
    expect(net.node(1).committedIndex()).toBe(1);

    net.intercept = null;
    net.tick(1, [1]);
    expect(net.node(1).committedIndex()).toBe(5);
    // The leader's persisted commit index jumped from 1 straight to its own entry.
    const commits = new Set(net.peer(1).hardStates.map((hs) => hs.commit));
    expect([...commits].sort()).toEqual([1, 5]);
    for (const id of voters) expect(net.peer(id).applied.map((e) => e.index)).toEqual([2, 3, 4, 5]);
  });
});

describe('election safety', () => {
  it('a new leader appends an empty entry of its term, which commits everywhere', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const storage = net.peer(1).storage;
    expect(storage.lastIndex()).toBe(2);
    const [entry] = storage.entries(2, 3, Infinity);
    expect(entry).toMatchObject({ index: 2, term: net.node(1).term(), type: EntryType.Normal });
    expect(entry.data.byteLength).toBe(0);
    for (const id of [1, 2, 3]) {
      expect(net.node(id).committedIndex()).toBe(2);
      expect(net.peer(id).applied.map((e) => e.index)).toEqual([2]);
    }
  });

  it('two simultaneous candidates in one term: at most one wins', () => {
    const net = new Network([1, 2, 3], { config: { preVote: false } });
    net.node(1).campaign();
    net.node(2).campaign();
    net.drain();
    const leaders = [1, 2, 3].filter((id) => net.node(id).isLeader());
    expect(leaders).toEqual([1]); // 3 hears 1's request first and votes for it
    expect(net.node(2).status().state).toBe('follower');
    expect(net.node(3).status().vote).toBe(1);
  });

  it('under random partitions: one leader per term, one vote per term, applied logs agree', () => {
    const ids = [1, 2, 3, 4, 5];
    const net = new Network(ids, { seed: 7 });
    const random = new SeededRandom(42);
    const leadersByTerm = new Map<number, Set<number>>();
    const votesByTerm = new Map<string, number>();
    for (let tick = 0; tick < 600; tick++) {
      if (tick % 25 === 0) {
        net.heal();
        for (let i = 0; i < 2; i++) net.cut(random.pick(ids), random.pick(ids));
        if (random.chance(0.3)) net.isolate(random.pick(ids));
      }
      if (tick % 7 === 0) {
        const leader = net.leaderAmong();
        if (leader !== undefined) net.node(leader).propose(new TextEncoder().encode(`v${tick}`));
      }
      net.tick(1);
      for (const id of ids) {
        const status = net.node(id).status();
        if (status.state === 'leader') {
          const set = leadersByTerm.get(status.term) ?? new Set<number>();
          set.add(id);
          leadersByTerm.set(status.term, set);
        }
        if (status.vote !== 0) {
          const key = `${id}@${status.term}`;
          const previous = votesByTerm.get(key);
          expect(previous === undefined || previous === status.vote, `member ${id} changed its vote in term ${status.term}`).toBe(true);
          votesByTerm.set(key, status.vote);
        }
      }
    }
    expect(leadersByTerm.size).toBeGreaterThan(2);
    for (const [term, leaders] of leadersByTerm) expect(leaders.size, `term ${term}`).toBe(1);
    // State machine safety: applied sequences are prefixes of one another.
    const applied = ids.map((id) => net.peer(id).applied.map((e) => `${e.index}/${e.term}`));
    const longest = applied.reduce((a, b) => (a.length >= b.length ? a : b));
    expect(longest.length).toBeGreaterThan(10);
    for (const sequence of applied) expect(sequence).toEqual(longest.slice(0, sequence.length));
  });
});
