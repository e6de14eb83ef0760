// A recording client of etcd's Watch stream, built on the generated gRPC client: opens one stream,
// creates watchers on it, keeps every response, and turns a watcher's responses into the form the
// watch-guarantee checker reads (test/support/watch-checker.ts).

import { Metadata, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { HistoryEvent, KvSnapshot, WatchRecording, WatchResponseRecord } from '../support/watch-checker.js';

export interface WatchSpec {
  key: string;
  rangeEnd?: string;
  startRevision?: number;
  prevKv?: boolean;
  progressNotify?: boolean;
  noPut?: boolean;
  noDelete?: boolean;
  watchId?: number;
}

/** The end of `prefix`'s range, as etcdctl computes it: the prefix with its last byte plus one. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix);
  bytes[bytes.length - 1]++;
  return bytes.toString();
}

function kvSnapshot(kv: any): KvSnapshot {
  return {
    key: Buffer.from(kv.key ?? []).toString(),
    value: Buffer.from(kv.value ?? []).toString(),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
    version: Number(kv.version ?? 0),
    lease: Number(kv.lease ?? 0),
  };
}

export function historyEvent(event: any): HistoryEvent {
  const kv = kvSnapshot(event.kv);
  const type = event.type === 1 || event.type === 'DELETE' ? 'delete' : 'put';
  return { type, key: kv.key, revision: kv.modRevision, kv, ...(event.prev_kv ? { prevKv: kvSnapshot(event.prev_kv) } : {}) };
}

function responseRecord(response: any): WatchResponseRecord {
  return {
    headerRevision: Number(response.header?.revision ?? 0),
    watchId: Number(response.watch_id ?? 0),
    created: response.created === true,
    canceled: response.canceled === true,
    compactRevision: Number(response.compact_revision ?? 0),
    events: (response.events ?? []).map(historyEvent),
  };
}

export class WatchSession {
  readonly responses: any[] = [];
  /** Resolves with the stream's final error (or null when it ended cleanly). */
  readonly ended: Promise<ServiceError | null>;
  private readonly stream: ClientDuplexStream<any, any>;
  private readonly waiters: Array<() => void> = [];
  private readonly specs = new Map<number, WatchSpec>();

  constructor(client: Client, metadata: Metadata = new Metadata()) {
    this.stream = (client as unknown as { Watch(metadata: Metadata): ClientDuplexStream<any, any> }).Watch(metadata);
    this.stream.on('data', (response: any) => {
      this.responses.push(response);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('error', (error: ServiceError) => resolve(error));
      this.stream.on('end', () => resolve(null));
    });
    void this.ended.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Creates a watcher and resolves with its id, once the created response arrived. */
  async create(spec: WatchSpec, timeoutMs = 5000): Promise<number> {
    const seen = this.responses.length;
    const filters = [...(spec.noPut ? [0] : []), ...(spec.noDelete ? [1] : [])];
    this.stream.write({
      create_request: {
        key: Buffer.from(spec.key),
        range_end: Buffer.from(spec.rangeEnd ?? ''),
        start_revision: spec.startRevision ?? 0,
        prev_kv: spec.prevKv ?? false,
        progress_notify: spec.progressNotify ?? false,
        filters,
        watch_id: spec.watchId ?? 0,
      },
    });
    const created = await this.waitFor((response) => response.created === true, timeoutMs, seen);
    this.specs.set(Number(created.watch_id), spec);
    return Number(created.watch_id);
  }

  cancel(watchId: number): void {
    this.stream.write({ cancel_request: { watch_id: watchId } });
  }

  /** Sends a WatchProgressRequest and resolves with its answer (watch_id -1). */
  async progress(timeoutMs = 5000): Promise<any> {
    const seen = this.responses.length;
    this.stream.write({ progress_request: {} });
    return this.waitFor((response) => Number(response.watch_id) === -1 && (response.events ?? []).length === 0, timeoutMs, seen);
  }

  /** Asks for progress until the answer reaches `revision` (every event up to it delivered); throws after `timeoutMs`. */
  async progressUntil(revision: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let answered = 0; answered < revision; ) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`watch progress stayed at revision ${answered}, below ${revision}, for ${timeoutMs} ms`);
      answered = Number((await this.progress(left)).header.revision);
    }
  }

  /** The first response from index `from` on that satisfies `predicate`. */
  async waitFor(predicate: (response: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    let ended: { error: ServiceError | null } | null = null;
    void this.ended.then((error) => (ended = { error }));
    for (;;) {
      const found = this.responses.slice(from).find(predicate);
      if (found !== undefined) return found;
      if (ended !== null) throw new Error(`watch stream ended (${(ended as { error: ServiceError | null }).error?.message ?? 'cleanly'}) before the awaited response; responses: ${this.responses.length}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no awaited watch response within ${timeoutMs} ms; responses: ${this.responses.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every event delivered to `watchId`, in order. */
  events(watchId: number): HistoryEvent[] {
    return this.responses.filter((response) => Number(response.watch_id) === watchId).flatMap((response) => (response.events ?? []).map(historyEvent));
  }

  /** Waits until `watchId` has received at least `count` events. */
  async waitForEvents(watchId: number, count: number, timeoutMs = 10_000): Promise<HistoryEvent[]> {
    await this.waitFor(() => this.events(watchId).length >= count, timeoutMs);
    return this.events(watchId);
  }

  /**
   * The watcher's responses in the checker's form. Progress answers to WatchProgressRequest
   * (watch_id -1) are bookmarks for every watcher of the stream, so they are included too.
   */
  recording(watchId: number, name: string): WatchRecording {
    const spec = this.specs.get(watchId);
    if (spec === undefined) throw new Error(`no watcher ${watchId} on this session`);
    const responses = this.responses
      .filter((response) => Number(response.watch_id) === watchId || (Number(response.watch_id) === -1 && (response.events ?? []).length === 0))
      .map(responseRecord);
    // Bookmarks from before this watcher was created say nothing about it.
    const createdAt = responses.findIndex((response) => response.created && response.watchId === watchId);
    return {
      name,
      key: spec.key,
      rangeEnd: spec.rangeEnd ?? '',
      startRevision: spec.startRevision ?? 0,
      prevKv: spec.prevKv ?? false,
      filters: { noPut: spec.noPut ?? false, noDelete: spec.noDelete ?? false },
      responses: responses.slice(Math.max(0, createdAt)),
    };
  }

  close(): void {
    this.stream.cancel();
  }
}

/** The whole event history of `[key, rangeEnd)` from revision 1 up to `revision`, read with one watcher. */
export async function readHistory(client: Client, key: string, rangeEnd: string, revision: number): Promise<HistoryEvent[]> {
  const session = new WatchSession(client);
  try {
    const id = await session.create({ key, rangeEnd, startRevision: 1, prevKv: true });
    // A progress answer at R comes only once every event up to R has been sent.
    await session.progressUntil(revision);
    return session.events(id).filter((event) => event.revision <= revision);
  } finally {
    session.close();
  }
}
