// Moving leadership: etcd's MoveLeader, and a leader handing leadership to the most up-to-date
// voter before it stops. A transfer is started in the core; its callers wait for the leader
// change (the member calls leaderChanged() on every one) or their timeout.

import { ServerError, ServerErrorCode } from './errors.js';
import { formatId } from './identity.js';
import type { MemberBasics } from './parts.js';

/** Callers waiting for a leadership transfer to end; more are refused. */
const TRANSFER_WAITERS_MAX = 64;
/** Listeners for every leader change (the API's, one per client server). */
const LEADER_LISTENERS_MAX = 16;

export interface LeadershipParts extends MemberBasics {
  readonly electionTimeoutMs: number;
  readonly schedule: () => void;
  readonly isStopped: () => boolean;
}

export class Leadership {
  /** Callers of transfer() waiting for a leader change. */
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly parts: LeadershipParts) {}

  /** etcd's MoveLeader: only the leader moves leadership, and only to a voter. */
  async moveTo(targetId: number): Promise<void> {
    const { node, memberId, electionTimeoutMs } = this.parts;
    if (!node.isLeader()) throw new ServerError(ServerErrorCode.NotLeader, 'etcdserver: not leader');
    if (!node.voters().includes(targetId)) throw new ServerError(ServerErrorCode.BadLeaderTransferee, 'etcdserver: bad leader transferee');
    if (targetId !== memberId && !(await this.transfer(targetId, 2 * electionTimeoutMs))) {
      throw new ServerError(ServerErrorCode.Timeout, 'etcdserver: request timed out, leader transfer took too long');
    }
  }

  /**
   * Before a leader stops, it hands leadership to the most up-to-date voter so the cluster does not
   * wait out an election timeout. Gives up after one election timeout.
   */
  async handAway(): Promise<void> {
    const { node, memberId } = this.parts;
    if (!node.isLeader()) return;
    let transferee = 0;
    let bestMatch = -1;
    for (const id of node.voters()) {
      const match = node.matchIndexOf(id);
      if (id !== memberId && match !== undefined && match > bestMatch) {
        transferee = id;
        bestMatch = match;
      }
    }
    if (transferee === 0) return;
    this.parts.logger.info({ transferee: formatId(transferee) }, 'transferring leadership before stopping');
    await this.transfer(transferee, this.parts.electionTimeoutMs);
  }

  /** Calls `listener` on every leader change; returns how to stop. */
  subscribe(listener: () => void): () => void {
    if (this.listeners.size >= LEADER_LISTENERS_MAX) throw new Error(`more than ${LEADER_LISTENERS_MAX} leader-change listeners`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The leader changed, or the member stopped: waiters look again, listeners hear of it. */
  leaderChanged(): void {
    for (const wake of [...this.waiters]) wake();
    for (const listener of this.listeners) listener();
  }

  /** Starts a transfer and waits up to `timeoutMs` for `transferee` to lead; true if it does. */
  private async transfer(transferee: number, timeoutMs: number): Promise<boolean> {
    const { node } = this.parts;
    if (this.waiters.size >= TRANSFER_WAITERS_MAX) throw ServerError.of(ServerErrorCode.TooManyRequests);
    node.transferLeadership(transferee);
    this.parts.schedule();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const wake = (): void => {
        if (this.parts.isStopped() || node.leaderId() === transferee) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(wake);
      wake();
    });
    return node.leaderId() === transferee;
  }
}
