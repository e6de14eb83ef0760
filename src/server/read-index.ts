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
  private readonly inFlight = new Map<string, PendingRead[]>();
  private inFlightCount = 0;
  /** The context key of the request out now, if any. */
  private current: string | null = null;
  private awaitingApply: Array<{ index: number; resolve(): void }> = [];
  private nextContext = 1;
  /** Reads waiting at any stage; beyond it new reads are refused. */
  static readonly pendingMax = 100_000;

  constructor(deps: ReadIndexDeps) {
    this.deps = deps;
  }

  /** Resolves once this member has applied everything committed before the call. */
  barrier(): Promise<void> {
    if (this.toSend.length + this.inFlightCount + this.awaitingApply.length >= ReadIndexBatcher.pendingMax) {
      return Promise.reject(new ServerError(ServerErrorCode.TooManyRequests, 'etcdserver: too many requests'));
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
    if (this.toSend.length === 0 || this.current !== null) return;
    const batch = this.toSend;
    this.toSend = [];
    const context = Buffer.alloc(8);
    context.writeDoubleBE(this.nextContext++);
    try {
      this.deps.requestReadIndex(context);
    } catch (error) {
      const failure = error instanceof ProposalDroppedError ? new ServerError(ServerErrorCode.NoLeader, 'etcdserver: no leader', { cause: error }) : (error as Error);
      for (const read of batch) read.reject(failure);
      return;
    }
    const key = context.toString('hex');
    this.inFlight.set(key, batch);
    this.inFlightCount += batch.length;
    this.current = key;
    setTimeout(() => this.retryOrExpire(key), READ_INDEX_RETRY_MS).unref();
  }

  /** The request `key` is still unanswered: its late reads fail, the others go again. */
  private retryOrExpire(key: string): void {
    const batch = this.take(key);
    if (batch === undefined) return;
    const now = performance.now();
    const timedOut = new ServerError(ServerErrorCode.Timeout, 'etcdserver: request timed out');
    const alive = batch.filter((read) => {
      if (read.deadline > now) return true;
      read.reject(timedOut);
      return false;
    });
    if (this.current === key) this.current = null;
    this.toSend = [...alive, ...this.toSend];
    // The reads that waited behind this request go now, with those still in time.
    if (this.toSend.length > 0) this.deps.schedule();
  }

  private take(key: string): PendingRead[] | undefined {
    const batch = this.inFlight.get(key);
    if (batch === undefined) return undefined;
    this.inFlight.delete(key);
    this.inFlightCount -= batch.length;
    return batch;
  }

  /** The core confirmed the read point for the batch sent with `context`. */
  confirmed(index: number, context: Uint8Array): void {
    const key = Buffer.from(context).toString('hex');
    const batch = this.take(key);
    for (const read of batch ?? []) this.awaitingApply.push({ index, resolve: read.resolve });
    if (this.current === key) {
      this.current = null;
      // The reads that waited for this answer go now.
      if (this.toSend.length > 0) this.deps.schedule();
    }
    this.releaseApplied();
  }

  /** Lets through the reads whose read index the store has now applied. */
  releaseApplied(): void {
    if (this.awaitingApply.length === 0) return;
    const applied = this.deps.appliedIndex();
    const still: Array<{ index: number; resolve(): void }> = [];
    for (const read of this.awaitingApply) {
      if (read.index <= applied) read.resolve();
      else still.push(read);
    }
    this.awaitingApply = still;
  }
}
