// The watchable side of the store (etcd's watchable store): watchers on key ranges, fed from the
// store's changes as they happen and, when behind, from the store's history.
//
// A watcher is either synced (it has been offered every change up to the store's revision, and
// gets each new revision as it is written) or unsynced (it still needs the changes from
// `nextRevision` on). A new watcher with a start revision in the past starts unsynced. A synced
// watcher whose receiver is full is not buffered here: it becomes unsynced at the revision it
// missed and is caught up from history later (catchUp()), so memory stays bounded whatever the
// receivers' speed. A watcher whose next revision was compacted away is canceled with the
// compacted revision.
//
// Guarantees to the receiver: each revision's events arrive whole in one delivery, revisions in
// increasing order, none twice, none skipped. Single-threaded like the store: every call runs to
// completion between the store's writes.

import { keyToString } from './codec.js';
import { CompactedRevisionError, assert } from './errors.js';
import type { Event, MvccStore, StoreObserver } from './mvcc-store.js';

export interface WatchFilters {
  /** Leave out put events. */
  readonly noPut: boolean;
  /** Leave out delete events. */
  readonly noDelete: boolean;
}

export interface WatchOptions {
  readonly key: Uint8Array;
  /** As in a range: empty = just `key`; "\0" = every key ≥ `key`; else [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  /** The first revision wanted; 0 = the next one written. */
  readonly startRevision: number;
  readonly filters: WatchFilters;
}

/** Where a watcher's events go (the API's watch stream). */
export interface WatchReceiver {
  /**
   * Offers the events of one or more whole revisions, up to `revision`. Returns false when the
   * receiver cannot take them now (nothing was taken): the hub retries from history later, once
   * catchUp() is called.
   */
  deliver(watcher: Watcher, events: readonly Event[], revision: number): boolean;
  /** The watcher needs history compaction removed; it is canceled. */
  compacted(watcher: Watcher, compactRevision: number): void;
  /** The watcher caught up: it has been offered every change up to the store's revision. */
  synced(watcher: Watcher): void;
}

export interface WatchHubLimits {
  /** Watchers on one member. */
  readonly watchersMax: number;
  /** Events in one catch-up delivery (a revision is never split, so one can exceed it). */
  readonly catchUpEventsMax: number;
  /** History records one catch-up step looks at for one watcher. */
  readonly catchUpScanMax: number;
}

export const DEFAULT_WATCH_HUB_LIMITS: WatchHubLimits = {
  watchersMax: 1_000_000,
  catchUpEventsMax: 1000,
  catchUpScanMax: 10_000,
};

export class TooManyWatchersError extends Error {
  readonly code = 'TOO_MANY_WATCHERS';
  constructor(max: number) {
    super(`mvcc: too many watchers (max ${max})`);
    this.name = 'TooManyWatchersError';
  }
}

export class Watcher {
  /** Unsynced: the next revision it needs. Synced: the first revision it wants (a start in the future). */
  nextRevision: number;
  synced = false;
  canceled = false;
  readonly low: string;
  /** Exclusive upper bound; null = no bound; equal to `low` plus '\0' for a single key. */
  readonly high: string | null;
  readonly single: boolean;

  constructor(
    readonly options: WatchOptions,
    readonly receiver: WatchReceiver,
    startRevision: number,
  ) {
    this.nextRevision = startRevision;
    this.low = keyToString(options.key);
    const end = options.rangeEnd;
    this.single = end.byteLength === 0;
    this.high = this.single ? null : end.byteLength === 1 && end[0] === 0 ? null : keyToString(end);
  }

  matches(name: string): boolean {
    if (this.single) return name === this.low;
    return name >= this.low && (this.high === null || name < this.high);
  }

  /** The events of one revision this watcher wants. */
  select(events: readonly Event[]): Event[] {
    const { noPut, noDelete } = this.options.filters;
    const selected: Event[] = [];
    for (const event of events) {
      if ((event.type === 'put' && noPut) || (event.type === 'delete' && noDelete)) continue;
      if (this.matches(keyToString(event.kv.key))) selected.push(event);
    }
    return selected;
  }
}

export class WatchHub implements StoreObserver {
  private readonly limits: WatchHubLimits;
  /** Synced watchers of one key, by key. */
  private readonly syncedByKey = new Map<string, Set<Watcher>>();
  /** Synced watchers of a range. */
  private readonly syncedRanges = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  private count = 0;
  /** The revision every synced watcher has been offered changes up to. */
  private syncedThrough: number;

  constructor(
    private readonly store: MvccStore,
    limits: Partial<WatchHubLimits> = {},
  ) {
    this.limits = { ...DEFAULT_WATCH_HUB_LIMITS, ...limits };
    this.syncedThrough = store.revision;
    store.observe(this);
  }

  get watcherCount(): number {
    return this.count;
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  /**
   * Registers a watcher. It delivers nothing yet: a watcher from the past is caught up by the next
   * catchUp(), so the caller can first announce it (etcd's "created" response).
   */
  watch(options: WatchOptions, receiver: WatchReceiver): Watcher {
    if (this.count >= this.limits.watchersMax) throw new TooManyWatchersError(this.limits.watchersMax);
    const current = this.store.revision;
    // A start in the future makes a synced watcher that ignores revisions before it (etcd's rule).
    // A negative start below etcd's compacted revision (-1 before any compaction) is canceled as
    // compacted by its first catch-up; -1 before any compaction reads no history, as 0 does.
    const requested = options.startRevision;
    const start = requested > 0 || (requested < 0 && requested < this.compactedRevision) ? requested : current + 1;
    const watcher = new Watcher(options, receiver, start);
    this.count++;
    if (start > current) this.addSynced(watcher);
    else this.unsynced.add(watcher);
    return watcher;
  }

  /** The compacted revision as etcd reports it to watchers: -1 before any compaction. */
  get compactedRevision(): number {
    return this.store.compactedRevision > 0 ? this.store.compactedRevision : -1;
  }

  cancel(watcher: Watcher): void {
    if (watcher.canceled) return;
    watcher.canceled = true;
    this.count--;
    if (watcher.synced) this.removeSynced(watcher);
    else this.unsynced.delete(watcher);
  }

  /**
   * Advances unsynced watchers from history, one bounded step each; watchers that reach the
   * current revision become synced. Returns true while some remain unsynced.
   */
  catchUp(): boolean {
    for (const watcher of [...this.unsynced]) this.catchUpOne(watcher);
    return this.unsynced.size > 0;
  }

  /** catchUp() for one watcher (say, one just created). */
  catchUpOne(watcher: Watcher): void {
    if (watcher.canceled || watcher.synced) return;
    let changes;
    try {
      changes = this.store.changesSince(watcher.nextRevision, (name) => watcher.matches(name), this.limits.catchUpEventsMax, this.limits.catchUpScanMax);
    } catch (error) {
      if (!(error instanceof CompactedRevisionError)) throw error;
      this.cancel(watcher);
      watcher.receiver.compacted(watcher, this.compactedRevision);
      return;
    }
    const events = watcher.select(changes.events);
    if (events.length > 0 && !watcher.receiver.deliver(watcher, events, changes.scannedTo)) return;
    watcher.nextRevision = Math.max(watcher.nextRevision, changes.scannedTo + 1);
    if (watcher.nextRevision > this.store.revision && !watcher.canceled) {
      this.unsynced.delete(watcher);
      this.addSynced(watcher);
      watcher.receiver.synced(watcher);
    }
  }

  /** Whether the watcher has been offered every change up to the store's revision. */
  isSynced(watcher: Watcher): boolean {
    return watcher.synced;
  }

  // ---- StoreObserver ------------------------------------------------------------------------

  changed(revision: number, events: readonly Event[]): void {
    this.syncedThrough = revision;
    if (this.syncedRanges.size === 0 && this.syncedByKey.size === 0) return;
    for (const watcher of this.interested(events)) {
      // Canceled by an earlier delivery of this very revision, or waiting for a future start.
      if (watcher.canceled || revision < watcher.nextRevision) continue;
      const selected = watcher.select(events);
      if (selected.length === 0) continue;
      if (!watcher.receiver.deliver(watcher, selected, revision)) this.unsync(watcher, revision);
    }
  }

  compacted(_revision: number): void {
    // Unsynced watchers below the compacted revision are canceled by their next catch-up step.
  }

  restored(): void {
    const synced = [...this.syncedRanges, ...[...this.syncedByKey.values()].flatMap((set) => [...set])];
    for (const watcher of synced) this.unsync(watcher, Math.max(this.syncedThrough + 1, watcher.nextRevision));
    this.syncedThrough = this.store.revision;
  }

  // ---- bookkeeping --------------------------------------------------------------------------

  /** The synced watchers that may want some of `events` (each once). */
  private interested(events: readonly Event[]): Set<Watcher> {
    const found = new Set<Watcher>(this.syncedRanges);
    if (this.syncedByKey.size === 0) return found;
    for (const event of events) {
      const exact = this.syncedByKey.get(keyToString(event.kv.key));
      if (exact !== undefined) for (const watcher of exact) found.add(watcher);
    }
    return found;
  }

  private addSynced(watcher: Watcher): void {
    assert(!watcher.synced, 'watcher already synced');
    watcher.synced = true;
    if (!watcher.single) {
      this.syncedRanges.add(watcher);
      return;
    }
    let set = this.syncedByKey.get(watcher.low);
    if (set === undefined) this.syncedByKey.set(watcher.low, (set = new Set()));
    set.add(watcher);
  }

  private removeSynced(watcher: Watcher): void {
    watcher.synced = false;
    if (!watcher.single) {
      this.syncedRanges.delete(watcher);
      return;
    }
    const set = this.syncedByKey.get(watcher.low);
    set?.delete(watcher);
    if (set?.size === 0) this.syncedByKey.delete(watcher.low);
  }

  /** The watcher missed `revision`: it goes back to catching up from history from there. */
  private unsync(watcher: Watcher, revision: number): void {
    if (watcher.canceled) return;
    if (watcher.synced) this.removeSynced(watcher);
    watcher.nextRevision = revision;
    this.unsynced.add(watcher);
  }
}
