// The narrow, read-only view the core has of what the member has made durable. The core never
// writes through it: the application persists each Ready and then tells its Storage.

import { CompactedError, SnapshotTemporarilyUnavailableError, UnavailableError, assert } from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { emptyHardState, emptySnapshot, entryBytes } from './types.js';

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

export interface Storage {
  /** The hard state and configuration saved at the last restart point. */
  initialState(): InitialState;
  /** Entries in [low, high), at least one if any, at most `maxBytes` beyond the first. */
  entries(low: number, high: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`, for index in [firstIndex()-1, lastIndex()]. */
  term(index: number): number;
  lastIndex(): number;
  /** Index of the first entry still held; the one before it is the snapshot's. */
  firstIndex(): number;
  /** The most recent snapshot; may throw SnapshotTemporarilyUnavailableError. */
  snapshot(): Snapshot;
}

/** Takes entries from the front while they fit in `maxBytes`; always keeps the first. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let total = entryBytes(entries[0]);
  let count = 1;
  while (count < entries.length) {
    total += entryBytes(entries[count]);
    if (total > maxBytes) break;
    count++;
  }
  return count === entries.length ? entries : entries.slice(0, count);
}

/**
 * Storage held in memory. Tests and the simulator use it as the "disk"; a member uses it as the
 * in-memory copy of its write-ahead log. `entries[0]` is a dummy carrying the snapshot's index/term.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState;
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];
  /** When set, snapshot() fails as if the image were still being produced. */
  snapshotUnavailable = false;

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  getHardState(): HardState {
    return this.hardState;
  }

  entries(low: number, high: number, maxBytes: number): Entry[] {
    const offset = this.ents[0].index;
    if (low <= offset) throw new CompactedError(low);
    if (high > this.lastIndex() + 1) throw new UnavailableError(high - 1);
    if (this.ents.length === 1) throw new UnavailableError(low);
    return limitSize(this.ents.slice(low - offset, high - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.ents[0].index;
    if (index < offset) throw new CompactedError(index);
    if (index - offset >= this.ents.length) throw new UnavailableError(index);
    return this.ents[index - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    if (this.snapshotUnavailable) throw new SnapshotTemporarilyUnavailableError();
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (index <= this.snap.metadata.index) return; // an older snapshot: nothing to do
    this.snap = snapshot;
    this.ents = [{ term, index, type: 0, data: new Uint8Array(0) }];
  }

  /**
   * Records the application's image at `index` (which must be applied) as the latest snapshot.
   * Entries are kept until `compact` is called.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) return this.snap;
    assert(index <= this.lastIndex(), `snapshot ${index} is beyond last index ${this.lastIndex()}`);
    this.snap = { metadata: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** Discards entries up to and including `compactIndex`, keeping its term as the dummy. */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) return;
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} is beyond last index ${this.lastIndex()}`);
    const dummy = this.ents[compactIndex - offset];
    this.ents = [{ term: dummy.term, index: dummy.index, type: 0, data: new Uint8Array(0) }, ...this.ents.slice(compactIndex - offset + 1)];
  }

  /**
   * Appends entries that were just made durable. Entries at or after the first new index are
   * replaced: a new leader may have overwritten an uncommitted suffix.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // everything is already compacted away
    const fresh = first > entries[0].index ? entries.slice(first - entries[0].index) : entries;
    const offset = fresh[0].index - this.ents[0].index;
    assert(offset <= this.ents.length, () => `missing log entry: last ${this.lastIndex()}, appending at ${fresh[0].index}`);
    // In place: this runs on every save, and copying the whole in-memory log each time would cost
    // O(log length) per write. Callers only ever receive copies (entries() slices).
    this.ents.length = offset;
    for (const entry of fresh) this.ents.push(entry);
  }
}
