// The tail of the log that the core holds but the member has not yet made durable: an optional
// incoming snapshot followed by entries. Entry i lives at entries[i - offset].

import { assert } from './errors.js';
import type { Entry, Snapshot } from './types.js';

export class UnstableLog {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index, when the unstable part starts with a snapshot. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === null ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === null ? undefined : this.snapshot.metadata.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      if (this.snapshot !== null && this.snapshot.metadata.index === index) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset].term;
  }

  /**
   * Entries up to `index` (of term `term`) are durable. Ignored when the entry there has since been
   * replaced, since the replacement still needs persisting.
   */
  stableTo(index: number, term: number): boolean {
    const current = this.maybeTerm(index);
    if (current !== term || index < this.offset) return false;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    return true;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) this.snapshot = null;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0].index;
    if (after === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (after <= this.offset) {
      // The new entries replace everything unstable and shadow durable entries from `after` on.
      this.offset = after;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries);
    }
  }

  /** Entries in [low, high); the caller has checked the bounds. */
  slice(low: number, high: number): Entry[] {
    assert(low >= this.offset && high <= this.offset + this.entries.length + 0, () => `unstable slice [${low}, ${high}) out of [${this.offset}, ${this.offset + this.entries.length})`);
    return this.entries.slice(low - this.offset, high - this.offset);
  }
}
