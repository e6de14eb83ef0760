// Linearizable reads by ReadIndex. A read is answered with the leader's commit index once a quorum
// confirms, by answering a heartbeat, that this member was still the leader after the read arrived.
//
// Reads are confirmed in rounds: at most one round is in flight, and every read that arrives while
// it is in flight waits for the next one, so any number of concurrent reads costs one heartbeat
// round trip per round rather than one each.

import { ProposalDroppedError, DropReason } from './errors.js';

export interface ReadRequest {
  /** Who asked: this member (NONE) or the follower that forwarded it. */
  readonly from: number;
  readonly context: Uint8Array;
}

export interface ReadRound {
  readonly id: number;
  /** The commit index when the round started: what its reads may see. */
  readonly index: number;
  readonly requests: ReadRequest[];
  readonly acks: Set<number>;
}

export class ReadOnly {
  private inFlight: ReadRound | null = null;
  private waiting: ReadRequest[] = [];
  private lastRoundId: number;
  private readonly requestsMax: number;

  /** Round ids continue across leadership changes so late acks of an old round never match. */
  constructor(requestsMax: number, lastRoundId: number) {
    this.requestsMax = requestsMax;
    this.lastRoundId = lastRoundId;
  }

  get roundIdHighWater(): number {
    return this.lastRoundId;
  }

  pendingCount(): number {
    return this.waiting.length + (this.inFlight?.requests.length ?? 0);
  }

  /** Queues a read. Returns the round to broadcast if this read starts one. */
  add(request: ReadRequest, commitIndex: number, selfId: number): ReadRound | null {
    if (this.pendingCount() >= this.requestsMax) throw new ProposalDroppedError(DropReason.ReadQueueFull);
    if (this.inFlight !== null) {
      this.waiting.push(request);
      return null;
    }
    return this.startRound([request], commitIndex, selfId);
  }

  private startRound(requests: ReadRequest[], commitIndex: number, selfId: number): ReadRound {
    this.lastRoundId++;
    this.inFlight = { id: this.lastRoundId, index: commitIndex, requests, acks: new Set([selfId]) };
    return this.inFlight;
  }

  /** The round that heartbeats should currently carry, 0 when none. */
  roundToConfirm(): number {
    return this.inFlight?.id ?? 0;
  }

  /**
   * Records a heartbeat answer for `roundId`. When it completes the round, returns the finished
   * round and, if reads were waiting, the next round to broadcast.
   */
  acknowledge(
    roundId: number,
    from: number,
    isConfirmed: (acks: ReadonlySet<number>) => boolean,
    commitIndex: number,
    selfId: number,
  ): { finished: ReadRound; next: ReadRound | null } | null {
    const round = this.inFlight;
    if (round === null || round.id !== roundId) return null;
    round.acks.add(from);
    if (!isConfirmed(round.acks)) return null;
    this.inFlight = null;
    let next: ReadRound | null = null;
    if (this.waiting.length > 0) {
      const waiting = this.waiting;
      this.waiting = [];
      next = this.startRound(waiting, commitIndex, selfId);
    }
    return { finished: round, next };
  }
}
