// etcd's "require leader" for streams: a client that sets the `hasleader` metadata on a watch or
// keep-alive stream wants it ended, with `etcdserver: no leader`, when its member has no leader,
// so it can move to a member that has one. A new such stream is refused at once while there is
// no leader. An open one is ended only once the member has been without a leader for
// NO_LEADER_ELECTIONS election timeouts, as etcd does (its monitor ends streams after three
// checks in a row, one per election timeout, found no leader): reconnecting every stream costs
// more than riding out an election. The member tells the monitor of every leader change.

import type { Metadata } from '@grpc/grpc-js';

/** Election timeouts without a leader before open streams are ended (etcd's maxNoLeaderCnt). */
const NO_LEADER_ELECTIONS = 3;
/** Streams waiting to hear of a lost leader; more are refused (the caller then ends the stream). */
const WATCHED_STREAMS_MAX = 1_000_000;

export interface LeaderSource {
  hasLeader(): boolean;
  /** Calls `listener` on every leader change of the member; returns how to stop. */
  onLeaderChange(listener: () => void): () => void;
}

export class LeaderMonitor {
  private readonly onLost = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private readonly graceMs: number;

  constructor(
    private readonly member: LeaderSource,
    electionTimeoutMs: number,
  ) {
    this.graceMs = NO_LEADER_ELECTIONS * electionTimeoutMs;
    this.unsubscribe = member.onLeaderChange(() => this.leaderChanged());
  }

  requiresLeader(metadata: Metadata): boolean {
    return metadata.get('hasleader').some((value) => String(value) === 'true');
  }

  /**
   * Calls `lost` once if the member stays without a leader for the grace period. Returns how to
   * stop watching, or null (after calling `lost`) when there is no leader already.
   */
  watch(lost: () => void): (() => void) | null {
    if (!this.member.hasLeader() || this.onLost.size >= WATCHED_STREAMS_MAX) {
      lost();
      return null;
    }
    this.onLost.add(lost);
    return () => this.onLost.delete(lost);
  }

  stop(): void {
    this.unsubscribe();
    this.clearTimer();
    this.onLost.clear();
  }

  private leaderChanged(): void {
    if (this.member.hasLeader()) this.clearTimer();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.expire(), this.graceMs);
      this.timer.unref();
    }
  }

  private expire(): void {
    this.timer = null;
    if (this.member.hasLeader()) return;
    const lost = [...this.onLost];
    this.onLost.clear();
    for (const callback of lost) callback();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
