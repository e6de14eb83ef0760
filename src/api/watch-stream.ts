// etcd's Watch service: one bidirectional stream per client carries many watchers. Requests create
// and cancel watchers and ask for progress; responses carry created/canceled notices, events and
// progress notifications.
//
// The stream is the watchers' receiver. While gRPC's send buffer has room, every revision's events
// go out as they are written; once it is full the stream refuses deliveries, the hub moves the
// refused watchers back to catching up from history, and the 'drain' event restarts them. So a slow
// client costs a bounded buffer, never an event.

import { status, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Event, Watcher, WatchReceiver, WatchServer } from '../server/servers.js';
import { header } from './handlers.js';
import type { WatchResponseEncoder } from './watch-encoding.js';
import { LeaderMonitor } from './leader-monitor.js';

const DUPLICATE_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';
/** etcd's refusal of range_end ≤ key (range_end neither empty nor "\0"). */
const EMPTY_RANGE_REASON = 'mvcc: watcher range is empty';
/** The watch_id of a refused create request: etcd names no watcher. */
const REFUSED_WATCH_ID = -1;
/** A progress response that answers WatchProgressRequest: tied to no watcher. */
const PROGRESS_WATCH_ID = -1;
/** Watchers on one stream (etcd has no limit; this keeps one client from taking a member's memory). */
const WATCHERS_PER_STREAM_MAX = 100_000;
const EMPTY = Buffer.alloc(0);

export interface WatchServiceOptions {
  /** How often watchers that asked for progress_notify get one (etcd: 10 minutes). */
  readonly progressNotifyIntervalMs: number;
  readonly leaderMonitor: LeaderMonitor;
  /** Shared by every stream of the member, so each event is encoded once (watch-encoding.ts). */
  readonly encoder: WatchResponseEncoder;
}

interface WatcherEntry {
  readonly id: number;
  readonly watcher: Watcher;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
}

export function watchService(member: WatchServer, options: WatchServiceOptions): UntypedServiceImplementation {
  return {
    Watch: (call: ServerDuplexStream<any, any>) => new WatchStream(member, call, options).start(),
  };
}

class WatchStream implements WatchReceiver {
  private readonly byId = new Map<number, WatcherEntry>();
  private readonly byWatcher = new Map<Watcher, WatcherEntry>();
  private nextId = 0;
  /** gRPC's send buffer is full: deliveries are refused until 'drain'. */
  private blocked = false;
  /** A WatchProgressRequest waits for every watcher here to catch up. */
  private progressRequested = false;
  private closed = false;
  private progressTimer: NodeJS.Timeout | null = null;
  private stopMonitoring: (() => void) | null = null;

  constructor(
    private readonly member: WatchServer,
    private readonly call: ServerDuplexStream<any, any>,
    private readonly options: WatchServiceOptions,
  ) {}

  start(): void {
    if (this.options.leaderMonitor.requiresLeader(this.call.metadata)) {
      this.stopMonitoring = this.options.leaderMonitor.watch(() => this.fail(status.UNAVAILABLE, 'etcdserver: no leader'));
      if (this.stopMonitoring === null) return;
    }
    this.call.on('data', (request: any) => this.onRequest(request));
    this.call.on('end', () => this.close(true));
    this.call.on('error', () => this.close(false));
    this.call.on('cancelled', () => this.close(false));
    this.call.on('drain', () => this.onDrain());
    this.progressTimer = setInterval(() => this.notifyProgress(), this.options.progressNotifyIntervalMs);
    this.progressTimer.unref();
  }

  private onRequest(request: any): void {
    if (this.closed) return;
    if (request.create_request) this.create(request.create_request);
    else if (request.cancel_request) this.cancel(Number(request.cancel_request.watch_id ?? 0));
    else if (request.progress_request) this.requestProgress();
  }

  private create(create: any): void {
    const key: Uint8Array = create.key ?? EMPTY;
    const rangeEnd: Uint8Array = create.range_end ?? EMPTY;
    const requestedId = Number(create.watch_id ?? 0);
    const currentHeader = header(this.member.header());
    // etcd's order: the range first, then the id; a refusal takes no id.
    const refusal = isEmptyRange(key, rangeEnd)
      ? EMPTY_RANGE_REASON
      : requestedId > 0 && this.byId.has(requestedId)
        ? DUPLICATE_ID_REASON
        : this.byId.size >= WATCHERS_PER_STREAM_MAX
          ? `etcdserver: too many watchers on one stream (max ${WATCHERS_PER_STREAM_MAX})`
          : null;
    if (refusal !== null) {
      this.send({ header: currentHeader, watch_id: REFUSED_WATCH_ID, created: true, canceled: true, cancel_reason: refusal });
      return;
    }
    const id = requestedId > 0 ? requestedId : this.freeId();
    const filters = (create.filters ?? []) as number[];
    const watcher = this.member.watch(
      {
        key,
        rangeEnd,
        startRevision: Number(create.start_revision ?? 0),
        filters: { noPut: filters.includes(0), noDelete: filters.includes(1) },
      },
      this,
    );
    const entry: WatcherEntry = { id, watcher, prevKv: create.prev_kv === true, progressNotify: create.progress_notify === true };
    this.byId.set(id, entry);
    this.byWatcher.set(watcher, entry);
    this.send(withoutDefaults({ header: currentHeader, watch_id: id, created: true }));
    // History, if asked for, goes out after the created notice.
    this.member.catchUpOne(watcher);
  }

  private freeId(): number {
    while (this.byId.has(this.nextId)) this.nextId++;
    return this.nextId++;
  }

  private cancel(id: number): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    this.forget(entry);
    this.send(withoutDefaults({ header: header(this.member.header()), watch_id: id, canceled: true }));
  }

  private forget(entry: WatcherEntry): void {
    this.member.cancel(entry.watcher);
    this.byId.delete(entry.id);
    this.byWatcher.delete(entry.watcher);
  }

  /** etcd 3.5's rule: the answer waits until every watcher here has caught up, so its revision is a true bookmark. */
  private requestProgress(): void {
    this.progressRequested = true;
    this.maybeAnswerProgress();
  }

  private maybeAnswerProgress(): void {
    if (!this.progressRequested || this.closed) return;
    for (const entry of this.byId.values()) if (!entry.watcher.synced) return;
    this.progressRequested = false;
    this.send({ header: header(this.member.header()), watch_id: PROGRESS_WATCH_ID });
  }

  /** The periodic progress_notify: an empty response at the current revision for each caught-up watcher that asked. */
  private notifyProgress(): void {
    if (this.blocked || this.closed) return;
    const current = header(this.member.header());
    for (const entry of this.byId.values()) {
      if (entry.progressNotify && entry.watcher.synced) this.send(withoutDefaults({ header: current, watch_id: entry.id }));
    }
  }

  // ---- WatchReceiver ------------------------------------------------------------------------

  deliver(watcher: Watcher, events: readonly Event[], revision: number): boolean {
    if (this.blocked || this.closed) return false;
    const entry = this.byWatcher.get(watcher);
    if (entry === undefined) return false;
    this.send(this.options.encoder.response({ ...this.member.header(), revision }, entry.id, events, entry.prevKv));
    return true;
  }

  compacted(watcher: Watcher, compactRevision: number): void {
    const entry = this.byWatcher.get(watcher);
    if (entry === undefined) return;
    this.byId.delete(entry.id);
    this.byWatcher.delete(watcher);
    // etcd's form: a header without revision, the compact revision, and no cancel_reason (clients
    // read compact_revision).
    const { revision: _omitted, ...headerWithoutRevision } = header(this.member.header()) as { revision: number };
    this.send(withoutDefaults({ header: headerWithoutRevision, watch_id: entry.id, canceled: true, compact_revision: compactRevision }));
  }

  synced(_watcher: Watcher): void {
    this.maybeAnswerProgress();
  }

  // ---- the gRPC stream ----------------------------------------------------------------------

  private send(response: object): void {
    if (this.closed) return;
    if (!this.call.write(response)) this.blocked = true;
  }

  private onDrain(): void {
    this.blocked = false;
    for (const entry of [...this.byId.values()]) {
      if (this.blocked) break;
      this.member.catchUpOne(entry.watcher);
    }
  }

  private fail(code: status, details: string): void {
    if (this.closed) return;
    this.close(false);
    this.call.emit('error', { code, details });
  }

  private close(endCall: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer !== null) clearInterval(this.progressTimer);
    this.stopMonitoring?.();
    for (const entry of this.byId.values()) this.member.cancel(entry.watcher);
    this.byId.clear();
    this.byWatcher.clear();
    if (endCall) this.call.end();
  }
}


/** range_end at or before key watches nothing: etcd refuses it (empty and "\0" are not ends). */
function isEmptyRange(key: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (rangeEnd.byteLength === 0 || (rangeEnd.byteLength === 1 && rangeEnd[0] === 0)) return false;
  return Buffer.compare(Buffer.from(key.buffer, key.byteOffset, key.byteLength), Buffer.from(rangeEnd.buffer, rangeEnd.byteOffset, rangeEnd.byteLength)) >= 0;
}

/** Leaves out zero and false fields, which etcd's encoder never writes (protobufjs writes what is set). */
function withoutDefaults(response: Record<string, unknown>): object {
  return Object.fromEntries(Object.entries(response).filter(([, value]) => value !== 0 && value !== false));
}
