// Linearizable reads on a member. Reads share ReadIndex requests to the core, one in flight at a
// time as etcd's read loop does: every read that arrives while a request is out waits for the
// next one, so a busy member sends one round of heartbeats per round trip, not one per
// event-loop turn. When a request's ReadState comes back, its reads wait until the store has
// applied up to the read index, then proceed against local state. A request unanswered after
// READ_INDEX_RETRY_MS (the leader changed and dropped it, say) is asked again with its reads
// and the newer ones, as etcd retries; each read still fails at its own deadline.

import { ProposalDroppedError } from '../raft/index.js';
import { ServerError, ServerErrorCode } from './errors.js';

interface PendingRead {
  resolve(): void;
  reject(error: Error): void;
  /** When the read times out (performance.now() milliseconds). */
  readonly deadline: number;
}

/** An unanswered ReadIndex request is asked again after this long (etcd: 500 ms). */
const READ_INDEX_RETRY_MS = 500;

export interface ReadIndexDeps {
  /** Hands a read request with `context` to the core; throws ProposalDroppedError without a leader. */
  requestReadIndex(context: Buffer): void;
  /** What the store has applied. */
  appliedIndex(): number;
  /** Asks the Ready loop to run (it calls flush). */
  schedule(): void;
  readonly timeoutMs: number;
}

export class ReadIndexBatcher {
  private readonly deps: ReadIndexDeps;
  private toSend: PendingRead[] = [];
  /** The one request out now, by its context as hex, with its reads. */
  private outstanding: { readonly key: string; readonly reads: PendingRead[] } | null = null;
  private awaitingApply: Array<{ readonly index: number } & PendingRead> = [];
  private nextContext = 1;
  private stopped = false;
  /** Reads waiting at any stage; beyond it new reads are refused. */
  static readonly pendingMax = 100_000;

  constructor(deps: ReadIndexDeps) {
    this.deps = deps;
  }

  /** Resolves once this member has applied everything committed before the call. */
  barrier(): Promise<void> {
    if (this.stopped) return Promise.reject(ServerError.of(ServerErrorCode.Stopped));
    if (this.toSend.length + (this.outstanding?.reads.length ?? 0) + this.awaitingApply.length >= ReadIndexBatcher.pendingMax) {
      return Promise.reject(ServerError.of(ServerErrorCode.TooManyRequests));
    }
    return new Promise<void>((resolve, reject) => {
      this.toSend.push({ resolve, reject, deadline: performance.now() + this.deps.timeoutMs });
      this.deps.schedule();
    });
  }

  /**
   * Sends everything that arrived since the last request as one ReadIndex request, unless one is
   * out: its answer, or its retry timer, calls schedule() again.
   */
  flush(): void {
    if (this.toSend.length === 0 || this.outstanding !== null) return;
    const batch = this.toSend;
    this.toSend = [];
    const context = Buffer.alloc(8);
    context.writeDoubleBE(this.nextContext++);
    try {
      this.deps.requestReadIndex(context);
    } catch (error) {
      const failure = error instanceof ProposalDroppedError ? ServerError.of(ServerErrorCode.NoLeader, { cause: error }) : (error as Error);
      for (const read of batch) read.reject(failure);
      return;
    }
    const key = context.toString('hex');
    this.outstanding = { key, reads: batch };
    setTimeout(() => this.retryOrExpire(key), READ_INDEX_RETRY_MS).unref();
  }

  /** The request `key` is still unanswered: its late reads fail, the others go again. */
  private retryOrExpire(key: string): void {
    const batch = this.take(key);
    if (batch === null) return;
    const now = performance.now();
    const timedOut = ServerError.of(ServerErrorCode.Timeout);
    const alive = batch.filter((read) => {
      if (read.deadline > now) return true;
      read.reject(timedOut);
      return false;
    });
    this.toSend = [...alive, ...this.toSend];
    // The reads that waited behind this request go now, with those still in time.
    if (this.toSend.length > 0) this.deps.schedule();
  }

  /** The reads of request `key` if it is the one out (an answer to a retried request finds none), ending it. */
  private take(key: string): PendingRead[] | null {
    if (this.outstanding?.key !== key) return null;
    const { reads } = this.outstanding;
    this.outstanding = null;
    return reads;
  }

  /** The core confirmed the read point for the batch sent with `context`. */
  confirmed(index: number, context: Uint8Array): void {
    const batch = this.take(Buffer.from(context).toString('hex'));
    if (batch !== null) {
      for (const read of batch) this.awaitingApply.push({ index, ...read });
      // The reads that waited for this answer go now.
      if (this.toSend.length > 0) this.deps.schedule();
    }
    this.releaseApplied();
  }

  /** Lets through the reads whose read index the store has now applied. */
  releaseApplied(): void {
    if (this.awaitingApply.length === 0) return;
    const applied = this.deps.appliedIndex();
    this.awaitingApply = this.awaitingApply.filter((read) => {
      if (read.index > applied) return true;
      read.resolve();
      return false;
    });
  }

  /** Fails the reads still waiting for the store to apply their read index past their deadline. */
  expire(now: number): void {
    if (this.awaitingApply.length === 0) return;
    this.awaitingApply = this.awaitingApply.filter((read) => {
      if (read.deadline > now) return true;
      read.reject(ServerError.of(ServerErrorCode.Timeout));
      return false;
    });
  }

  /** Fails every read, at whatever stage it waits, and every read asked for after. */
  stop(): void {
    this.stopped = true;
    const reads = [...this.toSend, ...(this.outstanding?.reads ?? []), ...this.awaitingApply];
    this.toSend = [];
    this.outstanding = null;
    this.awaitingApply = [];
    for (const read of reads) read.reject(ServerError.of(ServerErrorCode.Stopped));
  }
}
