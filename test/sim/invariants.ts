// The safety properties every simulated history must keep. The checker sees observations as they
// happen (an entry entering a log, a commit, an apply, a read) and checks each incrementally, so
// checking after every simulator step stays cheap.

export const ViolationKind = {
  ElectionSafety: 'election safety',
  LogMatching: 'log matching',
  LeaderCompleteness: 'leader completeness',
  StateMachineSafety: 'state machine safety',
  AppliedWentBack: 'applied index went back',
  ReadSafety: 'read safety',
  RestartState: 'state after restart',
  Liveness: 'liveness',
  CoreAssertion: 'core assertion',
} as const;
export type ViolationKind = (typeof ViolationKind)[keyof typeof ViolationKind];

export class Violation extends Error {
  readonly kind: ViolationKind;
  constructor(kind: ViolationKind, detail: string, options?: { cause?: unknown }) {
    super(`${kind}: ${detail}`, options);
    this.name = 'Violation';
    this.kind = kind;
  }
}

/** What a leader's log holds, as the leader-completeness check needs to see it. */
export interface LogView {
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Term of the entry at `index`, for firstIndex <= index <= lastIndex. */
  termAt(index: number): number;
}

interface EntryFingerprint {
  readonly dataHash: number;
  readonly prevTerm: number;
}

export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, number>();
  /** index -> term -> fingerprint of the one entry any leader created there in that term. */
  private readonly entries = new Map<number, Map<number, EntryFingerprint>>();
  /** index -> term of the entry committed there. */
  private readonly committedTerms = new Map<number, number>();
  private committedIndexMax = 0;
  /** index -> state machine fingerprint after applying it. */
  private readonly appliedChains = new Map<number, number>();
  /** member -> the last state its store reached (index and fingerprint). */
  private readonly lastStateOf = new Map<number, { index: number; chain: number }>();
  private ackedWriteIndexMax = 0;

  /** `member` is leader of `term`. */
  leader(term: number, member: number): void {
    const existing = this.leaderOfTerm.get(term);
    if (existing === undefined) this.leaderOfTerm.set(term, member);
    else if (existing !== member) {
      throw new Violation(ViolationKind.ElectionSafety, `members ${existing} and ${member} are both leaders of term ${term}`);
    }
  }

  /**
   * An entry (index, term) whose predecessor has `prevTerm` entered `member`'s log. Two logs that
   * agree on (index, term) must agree on the data and, inductively through prevTerm, on all before.
   */
  logEntry(member: number, index: number, term: number, dataHash: number, prevTerm: number): void {
    let byTerm = this.entries.get(index);
    if (byTerm === undefined) {
      byTerm = new Map();
      this.entries.set(index, byTerm);
    }
    const known = byTerm.get(term);
    if (known === undefined) {
      byTerm.set(term, { dataHash, prevTerm });
      return;
    }
    if (known.dataHash !== dataHash) {
      throw new Violation(ViolationKind.LogMatching, `member ${member} holds different data at index ${index} term ${term}`);
    }
    if (known.prevTerm !== prevTerm) {
      throw new Violation(
        ViolationKind.LogMatching,
        `member ${member} holds (${index}, ${term}) after an entry of term ${prevTerm}; another log has term ${known.prevTerm} there`,
      );
    }
  }

  /** `member` considers the entry (index, term) committed. */
  committed(member: number, index: number, term: number): void {
    const known = this.committedTerms.get(index);
    if (known === undefined) {
      this.committedTerms.set(index, term);
      if (index > this.committedIndexMax) this.committedIndexMax = index;
    } else if (known !== term) {
      throw new Violation(
        ViolationKind.StateMachineSafety,
        `member ${member} committed term ${term} at index ${index}, where term ${known} was committed before`,
      );
    }
  }

  /** `member` just became leader with this log: it must hold every entry committed so far. */
  newLeaderLog(member: number, term: number, log: LogView): void {
    if (this.committedIndexMax > log.lastIndex) {
      throw new Violation(
        ViolationKind.LeaderCompleteness,
        `leader ${member} of term ${term} ends at ${log.lastIndex} but index ${this.committedIndexMax} is committed`,
      );
    }
    for (const [index, committedTerm] of this.committedTerms) {
      if (index < log.firstIndex) continue; // compacted into the leader's snapshot
      const held = log.termAt(index);
      if (held !== committedTerm) {
        throw new Violation(
          ViolationKind.LeaderCompleteness,
          `leader ${member} of term ${term} has term ${held} at committed index ${index} (committed term ${committedTerm})`,
        );
      }
    }
  }

  /** `member`'s state machine applied `index`, reaching fingerprint `chain`. */
  applied(member: number, index: number, chain: number): void {
    const previous = this.lastStateOf.get(member)?.index ?? 0;
    if (index <= previous) {
      throw new Violation(ViolationKind.AppliedWentBack, `member ${member} applied ${index} after ${previous}`);
    }
    this.lastStateOf.set(member, { index, chain });
    const known = this.appliedChains.get(index);
    if (known === undefined) this.appliedChains.set(index, chain);
    else if (known !== chain) {
      throw new Violation(ViolationKind.StateMachineSafety, `member ${member} reached a different state at index ${index}`);
    }
  }

  /**
   * `member` starts with its store at (index, chain) and its WAL's snapshot at `walSnapshotIndex`.
   * The store is durable, so after a crash it must be exactly the last state it reached: around a
   * snapshot install, the old store (crashed before the switch) or the new one (after it), never
   * a mix of the two. And it must cover the WAL's snapshot, since the log before that is gone.
   */
  started(member: number, index: number, chain: number, walSnapshotIndex: number): void {
    const last = this.lastStateOf.get(member);
    if (last === undefined) this.lastStateOf.set(member, { index, chain });
    else if (last.index !== index || last.chain !== chain) {
      const known = this.appliedChains.get(index);
      const what = known === chain ? 'a state it had left' : known === undefined ? 'a state no member reached' : 'a state other than the one committed there';
      throw new Violation(ViolationKind.RestartState, `member ${member} restarted at index ${index} with ${what}; its store last reached index ${last.index}`);
    }
    if (index < walSnapshotIndex) {
      throw new Violation(ViolationKind.RestartState, `member ${member} restarted with its store at ${index}, behind its WAL's snapshot at ${walSnapshotIndex}`);
    }
  }

  /** A client was told its write, applied at `index`, succeeded. */
  writeAcknowledged(index: number): void {
    if (index > this.ackedWriteIndexMax) this.ackedWriteIndexMax = index;
  }

  /** A linearizable read begins; it must observe every write acknowledged before now. */
  readStarted(): number {
    return this.ackedWriteIndexMax;
  }

  /** The read that started with `floor` was confirmed at `index`. */
  readConfirmed(member: number, index: number, floor: number): void {
    if (index < floor) {
      throw new Violation(
        ViolationKind.ReadSafety,
        `member ${member} confirmed a read at index ${index}, below write ${floor} acknowledged before the read began`,
      );
    }
  }

  get committedIndex(): number {
    return this.committedIndexMax;
  }
}
