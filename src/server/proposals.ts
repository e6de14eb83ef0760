// Proposals and their waiters: a request goes to the core under a fresh request id, and its
// proposer waits until this member applies the entry (or the request times out). Requests of one
// event-loop turn are queued and handed to the core as one batch.

import { ProposalDroppedError, type ConfChange, type RawNode } from '../raft/index.js';
import type { ApplyResult } from './entry-applier.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { encodeInternalRequest, encodeMemberContext, type InternalRequest } from './requests.js';
import { proposalsFailed } from '../metrics/index.js';

/** Proposals waiting for their entry to apply on this member. */
const PENDING_PROPOSALS_MAX = 100_000;

export type ProposedRequest = Omit<InternalRequest, 'member_id' | 'request_id'>;

interface Waiter {
  resolve(result: ApplyResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface ProposalsOptions {
  readonly memberId: number;
  readonly node: RawNode;
  readonly maxRequestBytes: number;
  readonly requestTimeoutMs: number;
  /** Asks for a pass of the Ready loop, which flushes the queue first. */
  readonly schedule: () => void;
}

export class Proposals {
  private readonly waiters = new Map<number, Waiter>();
  private nextRequestId = 1;
  /** Requests waiting for the end of the turn to be proposed together. */
  private queue: Array<{ requestId: number; data: Uint8Array }> = [];
  private stopped = false;

  constructor(private readonly options: ProposalsOptions) {}

  /** Proposes a request through Raft and resolves once it is applied here. */
  propose(request: ProposedRequest): Promise<ApplyResult> {
    return this.submit((requestId) => {
      const data = encodeInternalRequest({ ...request, member_id: this.options.memberId, request_id: requestId });
      if (data.byteLength > this.options.maxRequestBytes) throw new ServerError(ServerErrorCode.RequestTooLarge, 'etcdserver: request is too large');
      this.queue.push({ requestId, data });
    });
  }

  /** Proposes a configuration change and resolves once it is applied here. */
  proposeConfChange(type: ConfChange['type'], nodeId: number, peerUrls: readonly string[], isLearner: boolean): Promise<ApplyResult> {
    return this.submit((requestId) => {
      const context = encodeMemberContext({ id: nodeId, peer_urls: [...peerUrls], is_learner: isLearner, proposer_id: this.options.memberId, request_id: requestId });
      this.options.node.proposeConfChange({ type, nodeId, context });
    });
  }

  /** Proposals waiting for their entry to apply here (etcd_server_proposals_pending). */
  get pendingCount(): number {
    return this.waiters.size;
  }

  /** Hands the turn's queued requests to the core as one batch. */
  flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.options.node.proposeBatch(batch.map((proposal) => proposal.data));
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      proposalsFailed.inc(batch.length);
      const failure = ServerError.of(ServerErrorCode.NoLeader, { cause: error });
      for (const { requestId } of batch) this.finish(requestId)?.reject(failure);
    }
  }

  /** Answers the proposer of `requestId`, if it still waits. */
  settle(requestId: number, result: ApplyResult): void {
    const waiter = this.finish(requestId);
    if (waiter === undefined) return;
    if (result.error !== undefined) waiter.reject(result.error);
    else waiter.resolve(result);
  }

  /** Fails every waiter and refuses new proposals. */
  stop(): void {
    this.stopped = true;
    for (const requestId of [...this.waiters.keys()]) this.finish(requestId)?.reject(ServerError.of(ServerErrorCode.Stopped));
    this.queue = [];
  }

  /**
   * Hands a proposal to the core under a fresh request id and waits for this member to apply it,
   * at most the request timeout. `hand` throws to refuse before anything is proposed.
   */
  private submit(hand: (requestId: number) => void): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(ServerError.of(ServerErrorCode.Stopped));
    if (this.waiters.size >= PENDING_PROPOSALS_MAX) return Promise.reject(ServerError.of(ServerErrorCode.TooManyRequests));
    const requestId = this.nextRequestId++;
    return new Promise<ApplyResult>((resolve, reject) => {
      try {
        hand(requestId);
      } catch (error) {
        if (error instanceof ProposalDroppedError) proposalsFailed.inc();
        reject(error instanceof ProposalDroppedError ? ServerError.of(ServerErrorCode.NoLeader, { cause: error }) : error);
        return;
      }
      const timer = setTimeout(() => {
        this.waiters.delete(requestId);
        proposalsFailed.inc();
        reject(ServerError.of(ServerErrorCode.Timeout));
      }, this.options.requestTimeoutMs);
      this.waiters.set(requestId, { resolve, reject, timer });
      this.options.schedule();
    });
  }

  private finish(requestId: number): Waiter | undefined {
    const waiter = this.waiters.get(requestId);
    if (waiter === undefined) return undefined;
    this.waiters.delete(requestId);
    clearTimeout(waiter.timer);
    return waiter;
  }
}
