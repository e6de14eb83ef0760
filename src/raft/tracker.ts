// The configuration (who votes, who learns) and the leader's per-member progress, plus the votes
// of an election in progress.

import { Progress } from './progress.js';
import { VoteResult, committedIndex, hasQuorum, voteResult } from './quorum.js';
import type { ConfState } from './types.js';

export class ProgressTracker {
  /** Sorted, so every walk over members is deterministic. */
  voters: number[] = [];
  learners: number[] = [];
  readonly progress = new Map<number, Progress>();
  readonly votes = new Map<number, boolean>();
  private readonly inflightCountMax: number;
  private readonly inflightBytesMax: number;

  constructor(inflightCountMax: number, inflightBytesMax: number) {
    this.inflightCountMax = inflightCountMax;
    this.inflightBytesMax = inflightBytesMax;
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: number): boolean {
    const progress = this.progress.get(id);
    return progress !== undefined && !progress.isLearner;
  }

  /** Every member, voters then learners, each group sorted. */
  members(): number[] {
    return [...this.voters, ...this.learners];
  }

  /** Adds `id` (or changes its role) with replication starting at `next`. */
  setMember(id: number, isLearner: boolean, next: number): void {
    const existing = this.progress.get(id);
    if (existing === undefined) {
      const progress = new Progress(next, isLearner, this.inflightCountMax, this.inflightBytesMax);
      // A new member counts as active so that adding it cannot make check-quorum fail at once.
      progress.recentActive = true;
      this.progress.set(id, progress);
    } else {
      existing.isLearner = isLearner;
    }
    this.rebuildLists();
  }

  removeMember(id: number): void {
    this.progress.delete(id);
    this.votes.delete(id);
    this.rebuildLists();
  }

  private rebuildLists(): void {
    const voters: number[] = [];
    const learners: number[] = [];
    for (const [id, progress] of this.progress) (progress.isLearner ? learners : voters).push(id);
    this.voters = voters.sort((a, b) => a - b);
    this.learners = learners.sort((a, b) => a - b);
  }

  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote (the first answer from a voter wins) and returns the election's state. */
  recordVote(id: number, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  /** Whether a quorum of voters has been heard from recently. */
  quorumActive(selfId: number): boolean {
    return hasQuorum(this.voters, (id) => id === selfId || this.progress.get(id)?.recentActive === true);
  }
}
