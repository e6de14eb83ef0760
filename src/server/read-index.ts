// Linearizable reads on a member. Every read that arrives in one event-loop turn shares one
// ReadIndex request to the core; when its ReadState comes back, the reads wait until the store
// has applied up to the read index, then proceed against local state.

import { ProposalDroppedError } from '../raft/index.js';
import { ServerError, ServerErrorCode } from './errors.js';

interface PendingRead {
  resolve(): void;
  reject(error: Error): void;
}

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
      this.toSend.push({ resolve, reject });
      this.deps.schedule();
    });
  }

  /** Sends everything that arrived since the last flush as one ReadIndex request. */
  flush(): void {
    if (this.toSend.length === 0) return;
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
    setTimeout(() => this.expire(key), this.deps.timeoutMs).unref();
  }

  private expire(key: string): void {
    const batch = this.take(key);
    for (const read of batch ?? []) read.reject(new ServerError(ServerErrorCode.Timeout, 'etcdserver: request timed out'));
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
    const batch = this.take(Buffer.from(context).toString('hex'));
    for (const read of batch ?? []) this.awaitingApply.push({ index, resolve: read.resolve });
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
