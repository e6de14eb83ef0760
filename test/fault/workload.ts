// The chaos workload: concurrent clients on every member doing puts of unique values, linearizable
// gets, compare-and-swap transactions on mod_revision (a control plane's optimistic update) and
// deletes, plus one watcher per member. Every invocation and completion is recorded for the
// checkers; an operation that times out or loses its connection is indeterminate, not a failure.

import { performance } from 'node:perf_hooks';
import type { AcknowledgedPut } from '../support/watch-checker.js';
import { call } from '../integration/harness.js';
import { WatchSession, prefixEnd } from '../integration/watch-client.js';
import type { KvInput, KvOutput, Operation } from './checker/linearizability.js';
import type { FaultCluster, FaultMember } from './cluster.js';
import type { Random } from './random.js';

export const KEY_PREFIX = '/f/';
const OPERATION_TIMEOUT_MS = 2000;
/** gRPC codes that say the request was refused before it could take effect. */
const DEFINITE_FAILURES = new Set([3, 5, 8, 9, 11]);

export interface WorkloadOptions {
  readonly clientsPerMember: number;
  readonly keys: number;
}

export interface WatchLog {
  readonly member: FaultMember;
  readonly session: WatchSession;
  watchId: number;
  readonly startRevision: number;
  /** The stream ended (its member died) or never got going. */
  dead: boolean;
}

const bytes = (text: string): Buffer => Buffer.from(text);

export class Workload {
  readonly operations: Operation[] = [];
  readonly acknowledgedPuts: AcknowledgedPut[] = [];
  readonly watches: WatchLog[] = [];
  private running = false;
  private clients: Promise<void>[] = [];
  private nextId = 0;
  private watchTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cluster: FaultCluster,
    private readonly random: Random,
    private readonly options: WorkloadOptions,
  ) {}

  get indeterminate(): number {
    return this.operations.filter((operation) => operation.returnMs === null).length;
  }

  /** Operations called at or after `sinceMs` (performance.now()) that completed. */
  completedSince(sinceMs: number): number {
    return this.operations.filter((operation) => operation.callMs >= sinceMs && operation.returnMs !== null).length;
  }

  /** Waits until `count` operations called since `sinceMs` completed; returns how many did. Throws after `timeoutMs`. */
  async waitForCompleted(sinceMs: number, count: number, timeoutMs: number, when: string): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.completedSince(sinceMs) < count) {
      if (performance.now() > deadline) throw new Error(`only ${this.completedSince(sinceMs)} of ${count} operations completed ${when} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.completedSince(sinceMs);
  }

  start(): void {
    this.running = true;
    let clientId = 0;
    for (const member of this.cluster.members) {
      for (let i = 0; i < this.options.clientsPerMember; i++) this.clients.push(this.runClient(clientId++, member));
    }
    // Watchers follow their member through restarts: a dead stream is resumed from its last revision + 1.
    this.watchTimer = setInterval(() => void this.keepWatching(), 200);
    void this.keepWatching();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.watchTimer !== null) clearInterval(this.watchTimer);
    await Promise.all(this.clients);
  }

  private key(): string {
    return `${KEY_PREFIX}k${this.random.int(this.options.keys)}`;
  }

  private async runClient(clientId: number, member: FaultMember): Promise<void> {
    let sequence = 0;
    while (this.running) {
      if (member.process === null || member.paused) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const roll = this.random.int(100);
      const key = this.key();
      const value = `c${clientId}-${sequence++}`;
      if (roll < 40) await this.put(clientId, member, key, value);
      else if (roll < 70) await this.get(clientId, member, key);
      else if (roll < 85) await this.compareAndSwap(clientId, member, key, value);
      else await this.delete(clientId, member, key);
    }
  }

  /** Runs one operation and records it; returns the raw response, or undefined if it failed. */
  private async record(clientId: number, input: KvInput, invoke: () => Promise<{ output: KvOutput; response: any }>): Promise<any> {
    const operation: Operation = { id: this.nextId++, clientId, input, callMs: performance.now(), returnMs: null, output: null };
    try {
      const { output, response } = await invoke();
      operation.returnMs = performance.now();
      operation.output = output;
      this.operations.push(operation);
      return response;
    } catch (error) {
      const code = (error as { code?: number }).code ?? -1;
      // A refusal (bad request, no leader before proposing) changed nothing: not part of the history.
      // Anything else may have taken effect: indeterminate. A failed read tells nothing: dropped.
      if (input.kind !== 'get' && !(DEFINITE_FAILURES.has(code) || isNoLeaderRefusal(error))) this.operations.push(operation);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return undefined;
    }
  }

  private async put(clientId: number, member: FaultMember, key: string, value: string): Promise<void> {
    const response = await this.record(clientId, { kind: 'put', key, value }, async () => {
      const response = await call(this.cluster.client(member), 'Put', { key: bytes(key), value: bytes(value) }, OPERATION_TIMEOUT_MS);
      return { output: { kind: 'put' }, response };
    });
    if (response !== undefined) this.acknowledgedPuts.push({ key, value, revision: Number(response.header.revision) });
  }

  private async get(clientId: number, member: FaultMember, key: string): Promise<{ value: string | null; modRevision: number } | undefined> {
    let found: { value: string | null; modRevision: number } | undefined;
    await this.record(clientId, { kind: 'get', key }, async () => {
      const response = await call(this.cluster.client(member), 'Range', { key: bytes(key) }, OPERATION_TIMEOUT_MS);
      const kv = response.kvs[0];
      found = { value: kv === undefined ? null : kv.value.toString(), modRevision: kv === undefined ? 0 : Number(kv.mod_revision) };
      return { output: { kind: 'get', value: found.value }, response };
    });
    return found;
  }

  /** Read, then write only if nobody wrote in between (mod_revision unchanged). */
  private async compareAndSwap(clientId: number, member: FaultMember, key: string, value: string): Promise<void> {
    const seen = await this.get(clientId, member, key);
    if (seen === undefined || !this.running) return;
    const response = await this.record(clientId, { kind: 'cas', key, expected: seen.value, value }, async () => {
      const response = await call(this.cluster.client(member), 'Txn', {
        compare: [{ key: bytes(key), target: 2, result: 0, mod_revision: seen.modRevision }],
        success: [{ request_put: { key: bytes(key), value: bytes(value) } }],
        failure: [{ request_range: { key: bytes(key) } }],
      }, OPERATION_TIMEOUT_MS);
      const current = response.succeeded ? undefined : response.responses[0]?.response_range?.kvs?.[0];
      const output: KvOutput = response.succeeded ? { kind: 'cas', succeeded: true } : { kind: 'cas', succeeded: false, current: current === undefined ? null : current.value.toString() };
      return { output, response };
    });
    if (response?.succeeded) this.acknowledgedPuts.push({ key, value, revision: Number(response.header.revision) });
  }

  private async delete(clientId: number, member: FaultMember, key: string): Promise<void> {
    await this.record(clientId, { kind: 'delete', key }, async () => {
      const response = await call(this.cluster.client(member), 'DeleteRange', { key: bytes(key) }, OPERATION_TIMEOUT_MS);
      return { output: { kind: 'delete', deleted: Number(response.deleted) }, response };
    });
  }

  /** Opens (or resumes) a watcher on every running member whose stream is not live. */
  private async keepWatching(): Promise<void> {
    for (const member of this.cluster.members) {
      if (member.process === null || member.paused || !this.running) continue;
      const mine = this.watches.filter((watch) => watch.member === member);
      const last = mine[mine.length - 1];
      if (last !== undefined && !last.dead) continue;
      const resumeFrom = last === undefined ? 0 : Math.max(last.startRevision, ...last.session.events(last.watchId).map((event) => event.revision + 1));
      const session = new WatchSession(this.cluster.client(member, 'Watch'));
      const entry: WatchLog = { member, session, watchId: -1, startRevision: resumeFrom, dead: false };
      this.watches.push(entry);
      void session.ended.then(() => (entry.dead = true));
      try {
        entry.watchId = await session.create({ key: KEY_PREFIX, rangeEnd: prefixEnd(KEY_PREFIX), prevKv: true, startRevision: resumeFrom }, 2000);
      } catch {
        entry.dead = true;
        session.close();
      }
    }
  }
}

/** Refusals that prove the request never took effect: no leader to propose to, or no connection at all. */
function isNoLeaderRefusal(error: unknown): boolean {
  const details = (error as { details?: string }).details ?? '';
  return details === 'etcdserver: no leader' || details.includes('ECONNREFUSED') || details.startsWith('No connection established');
}
