// What the leader knows about one follower's log, and how it replicates to it:
// Probe (one append at a time until the match point is found), Replicate (pipelined appends within
// the inflights window), Snapshot (waiting for a snapshot to land).

import { Inflights } from './inflights.js';

export const ProgressState = {
  Probe: 0,
  Replicate: 1,
  Snapshot: 2,
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export const progressStateName: Record<ProgressState, string> = { 0: 'probe', 1: 'replicate', 2: 'snapshot' };

export class Progress {
  /** Highest index known to be durable in the follower's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The highest commit index sent to this follower (in an append or heartbeat). */
  sentCommit = 0;
  /** In Probe state: an append is outstanding, wait for its answer (or a heartbeat) first. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, inflightCountMax: number, inflightBytesMax: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(inflightCountMax, inflightBytesMax);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Forgets everything learned under an earlier leader: probe again from `next`. */
  resetForNewTerm(next: number, match: number): void {
    this.resetState(ProgressState.Probe);
    this.match = match;
    this.next = next;
    this.recentActive = false;
    this.sentCommit = 0;
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records that an append carrying `entryCount` entries (`bytes` in size) was sent. */
  sentEntries(entryCount: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entryCount > 0) {
        this.next += entryCount;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    }
  }

  recordSentCommit(commit: number): void {
    if (commit > this.sentCommit) this.sentCommit = commit;
  }

  /**
   * Whether the follower may not know the commit index `committed` yet and holds entries it
   * would apply: then an (empty) append is worth sending rather than waiting for a heartbeat.
   */
  canBumpCommit(committed: number): boolean {
    return committed > this.sentCommit && this.sentCommit < this.next - 1;
  }

  /** The follower acknowledged `index`. Returns whether that was news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * The follower rejected an append at `rejected`, hinting its log matches at most up to
   * `matchHint`. Returns false when the rejection is stale (answers an older message).
   */
  maybeDecreaseTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
    } else {
      if (this.next - 1 !== rejected) return false;
      this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
      this.msgAppFlowPaused = false;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
      case ProgressState.Replicate:
        return this.msgAppFlowPaused;
      case ProgressState.Snapshot:
        return true;
    }
  }
}
