// The core's whole log: durable entries seen through Storage plus the unstable tail, and the
// commit / applying / applied cursors over it.

import { CompactedError, UnavailableError, assert } from './errors.js';
import { limitSize, type Storage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { UnstableLog } from './unstable.js';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index handed to the application to apply (may still be in progress). */
  applying: number;
  /** Highest index the application has applied. applied <= applying <= committed. */
  applied: number;
  private readonly committedBytesPerReadyMax: number;

  constructor(storage: Storage, committedBytesPerReadyMax: number) {
    this.storage = storage;
    this.committedBytesPerReadyMax = committedBytesPerReadyMax;
    const first = storage.firstIndex();
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term at `index`, valid for [firstIndex()-1, lastIndex()]; throws outside it. */
  term(index: number): number {
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) return unstableTerm;
    if (index < this.firstIndex() - 1) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    return this.storage.term(index);
  }

  /** Term at `index`, or 0 when the log does not hold it. */
  termOrZero(index: number): number {
    return this.termOrUndefined(index) ?? 0;
  }

  matchTerm(index: number, term: number): boolean {
    return this.termOrUndefined(index) === term;
  }

  /**
   * Term at `index`, or undefined outside [firstIndex()-1, lastIndex()]. Checked before asking:
   * every append probes the index after the last, and an exception (with its stack trace) per
   * append is measurable on a follower.
   */
  private termOrUndefined(index: number): number | undefined {
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) return unstableTerm;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  /** Whether a candidate whose log ends at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Appends entries from the leader after (prevIndex, prevTerm) if our log matches there.
   * Returns the new last index, or undefined when the leader must back up.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      assert(conflictIndex > this.committed, () => `entry ${conflictIndex} conflicts with committed entry (committed ${this.committed})`);
      this.append(entries.slice(conflictIndex - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0].index - 1;
    assert(after >= this.committed, () => `append after ${after} is below committed ${this.committed}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** The index of the first entry whose term differs from ours (or which we lack); 0 if none. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term. Lets a leader skip a
   * whole term of mismatching entries in one round trip instead of one index at a time.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      let ourTerm: number;
      try {
        ourTerm = this.term(index);
      } catch (error) {
        if (error instanceof CompactedError || error instanceof UnavailableError) return [index, 0];
        throw error;
      }
      if (ourTerm <= term) return [index, ourTerm];
    }
    return [0, 0];
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commit ${index} is beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Entries in [low, lastIndex], at most `maxBytes` beyond the first. */
  entriesFrom(low: number, maxBytes: number): Entry[] {
    if (low > this.lastIndex()) return [];
    return this.slice(low, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [low, high) across storage and the unstable tail; throws CompactedError below first. */
  slice(low: number, high: number, maxBytes: number): Entry[] {
    assert(low <= high, `bad slice [${low}, ${high})`);
    if (low < this.firstIndex()) throw new CompactedError(low);
    assert(high <= this.lastIndex() + 1, () => `slice [${low}, ${high}) beyond last index ${this.lastIndex()}`);
    if (low === high) return [];
    const unstableStart = this.unstable.offset;
    let result: Entry[] = [];
    if (low < unstableStart) {
      result = this.storage.entries(low, Math.min(high, unstableStart), maxBytes);
      const storedCount = Math.min(high, unstableStart) - low;
      if (result.length < storedCount || high <= unstableStart) return result;
    }
    if (high > unstableStart) {
      const tail = this.unstable.slice(Math.max(low, unstableStart), high);
      result = result.length === 0 ? tail : result.concat(tail);
    }
    return limitSize(result, maxBytes);
  }

  /** Whether committed entries are waiting to be handed to the application. */
  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.applying < Math.min(this.committed, this.lastIndex());
  }

  /** Committed entries not yet handed out, bounded in bytes. */
  nextCommittedEntries(): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const high = Math.min(this.committed, this.lastIndex()) + 1;
    return this.slice(this.applying + 1, high, this.committedBytesPerReadyMax);
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** The last index whose whole prefix in the current log is durable. */
  durableLastIndex(): number {
    if (this.unstable.snapshot !== null) return 0;
    return Math.min(this.storage.lastIndex(), this.unstable.offset - 1);
  }

  acceptApplying(index: number): void {
    assert(index <= this.committed, () => `applying ${index} beyond committed ${this.committed}`);
    this.applying = Math.max(this.applying, index);
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(index <= this.committed && index >= this.applied, () => `applied ${index} out of range [${this.applied}, ${this.committed}]`);
    this.applied = index;
    this.applying = Math.max(this.applying, index);
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }
}
