// The driver's interface to the core. Feed it ticks, messages and proposals; take a Ready; act on it
// in the order its fields prescribe; then advance(). Nothing here touches a clock, a disk or a socket.

import { encodeConfChange, type ConfChange } from './confchange.js';
import { ProposalDroppedError, ReadyNotAdvancedError } from './errors.js';
import { registerCore } from './inspect.js';
import { Raft, type Config } from './raft.js';
import { progressStateName } from './progress.js';
import {
  EntryType,
  MessageType,
  StateType,
  hardStateEqual,
  isLocalMessage,
  message,
  stateTypeName,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type ReadState,
  type Snapshot,
} from './types.js';

export interface SoftState {
  readonly lead: number;
  readonly state: StateType;
}

/**
 * One batch of work for the driver. Act on it in this order:
 *  1. `messages` may be sent at once, even while persisting (they never depend on local durability).
 *  2. Persist `snapshot`, `entries` and `hardState` atomically — one write, fsync'd when `mustSync`.
 *  3. Only then send `messagesAfterPersist` (votes and append acknowledgements promise durability),
 *     install `snapshot` into the state machine, and apply `committedEntries` in order
 *     (calling applyConfChange for configuration entries).
 *  4. Call advance(). No other Ready is handed out before that; step() and tick() stay allowed.
 */
export interface Ready {
  /** Leader or role changed; informational, never persisted. */
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  /** Confirmed linearizable reads: serve each once the applied index reaches its index. */
  readonly readStates: readonly ReadState[];
  /** Whether the write in step 2 must be fsync'd (a commit index alone need not be). */
  readonly mustSync: boolean;
}

export interface Status {
  readonly id: number;
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
  readonly applied: number;
  readonly lead: number;
  readonly state: string;
  readonly leadTransferee: number;
  readonly isLearner: boolean;
  readonly lastIndex: number;
  readonly firstIndex: number;
  /** The leader's view of each member; empty on followers. */
  readonly progress: Readonly<Record<number, { match: number; next: number; state: string; recentActive: boolean }>>;
}

interface InProgress {
  readonly hardState: HardState | null;
  readonly lastEntry: { index: number; term: number } | null;
  readonly snapshotIndex: number;
  readonly committedEntries: readonly Entry[];
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private inProgress: InProgress | null = null;

  constructor(config: Config) {
    this.raft = new Raft(config);
    registerCore(this, this.raft);
    this.prevSoftState = this.softState();
    this.prevHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now, as if the election timer had fired. */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup }));
  }

  /** Proposes data to be appended to the log. Throws ProposalDroppedError when it cannot be. */
  propose(data: Uint8Array): void {
    this.raft.step(message({ type: MessageType.Prop, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }));
  }

  /**
   * Proposes several entries as one message: a follower forwards them to the leader together, and
   * the leader appends them in one go. All are accepted or none (ProposalDroppedError).
   */
  proposeBatch(batch: readonly Uint8Array[]): void {
    if (batch.length === 0) return;
    const entries = batch.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data }));
    this.raft.step(message({ type: MessageType.Prop, entries }));
  }

  proposeConfChange(change: ConfChange): void {
    const data = encodeConfChange(change);
    this.raft.step(message({ type: MessageType.Prop, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }] }));
  }

  /**
   * Asks for a linearizable read point. A ReadState with `context` appears in a later Ready once
   * the leader has confirmed its leadership. Throws ProposalDroppedError when no leader is known.
   */
  readIndex(context: Uint8Array): void {
    this.raft.step(message({ type: MessageType.ReadIndex, context }));
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeadership(transferee: number): void {
    this.raft.step(message({ type: MessageType.TransferLeader, from: transferee }));
  }

  /** Steps a message received from a peer. Local message types are refused. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) {
      this.raft.logger.warn({ type: m.type, from: m.from }, 'dropping a local message type received from the network');
      return;
    }
    try {
      this.raft.step(m);
    } catch (error) {
      // A forwarded proposal or read this member cannot take; its sender will time out and retry.
      if (error instanceof ProposalDroppedError) return;
      throw error;
    }
  }

  applyConfChange(change: ConfChange): ConfState {
    return this.raft.applyConfChange(change);
  }

  /** See Raft.forgetLeader: this follower learned that its leader is gone. */
  forgetLeader(): void {
    this.raft.forgetLeader();
  }

  reportUnreachable(id: number): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: id }));
  }

  reportSnapshot(id: number, succeeded: boolean): void {
    this.raft.step(message({ type: MessageType.SnapStatus, from: id, reject: !succeeded }));
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, state: this.raft.state };
  }

  hasReady(): boolean {
    if (this.inProgress !== null) return false;
    const raft = this.raft;
    const soft = this.softState();
    return (
      soft.lead !== this.prevSoftState.lead ||
      soft.state !== this.prevSoftState.state ||
      !hardStateEqual(raft.hardState(), this.prevHardState) ||
      raft.log.unstable.snapshot !== null ||
      raft.log.unstable.entries.length > 0 ||
      raft.messages.length > 0 ||
      raft.messagesAfterPersist.length > 0 ||
      raft.readStates.length > 0 ||
      raft.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    if (this.inProgress !== null) throw new ReadyNotAdvancedError();
    const raft = this.raft;
    const soft = this.softState();
    const softChanged = soft.lead !== this.prevSoftState.lead || soft.state !== this.prevSoftState.state;
    this.prevSoftState = soft;
    const hardState = raft.hardState();
    const hardChanged = !hardStateEqual(hardState, this.prevHardState);
    const entries = raft.log.unstable.entries.slice();
    const snapshot = raft.log.unstable.snapshot;
    const committedEntries = raft.log.nextCommittedEntries();
    if (committedEntries.length > 0) raft.log.acceptApplying(committedEntries[committedEntries.length - 1].index);
    const ready: Ready = {
      softState: softChanged ? soft : null,
      hardState: hardChanged ? hardState : null,
      entries,
      snapshot,
      committedEntries,
      messages: raft.messages,
      messagesAfterPersist: raft.messagesAfterPersist,
      readStates: raft.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        hardState.term !== this.prevHardState.term ||
        hardState.vote !== this.prevHardState.vote,
    };
    raft.messages = [];
    raft.messagesAfterPersist = [];
    raft.readStates = [];
    const last = entries.length > 0 ? entries[entries.length - 1] : null;
    this.inProgress = {
      hardState: hardChanged ? hardState : null,
      lastEntry: last === null ? null : { index: last.index, term: last.term },
      snapshotIndex: snapshot?.metadata.index ?? 0,
      committedEntries,
    };
    return ready;
  }

  /** Acknowledges the last Ready: its state is durable and its committed entries are applied. */
  advance(): void {
    const done = this.inProgress;
    if (done === null) throw new ReadyNotAdvancedError();
    this.inProgress = null;
    const raft = this.raft;
    if (done.hardState !== null) this.prevHardState = done.hardState;
    if (done.snapshotIndex !== 0) {
      raft.log.unstable.stableSnapshotTo(done.snapshotIndex);
      if (done.snapshotIndex > raft.log.applied) raft.log.appliedTo(done.snapshotIndex);
    }
    if (done.lastEntry !== null) raft.stableTo(done.lastEntry.index, done.lastEntry.term);
    if (done.committedEntries.length > 0) {
      const lastApplied = done.committedEntries[done.committedEntries.length - 1].index;
      if (lastApplied > raft.log.applied) raft.log.appliedTo(lastApplied);
      raft.reduceUncommittedBytes(done.committedEntries);
    }
  }

  // ---- read-only views for the driver ---------------------------------------------------------
  // Each reads one fact of the core now, without the allocation of status(): the member asks
  // them on every request and every tick.

  /** The member this node believes leads, 0 when it knows of none. */
  leaderId(): number {
    return this.raft.lead;
  }

  term(): number {
    return this.raft.term;
  }

  isLeader(): boolean {
    return this.raft.state === StateType.Leader;
  }

  isLearner(): boolean {
    return this.raft.isLearner;
  }

  /** The voting members' ids, sorted. */
  voters(): number[] {
    return [...this.raft.tracker.voters];
  }

  /** The current configuration: voters and learners. */
  confState(): ConfState {
    return this.raft.tracker.confState();
  }

  /**
   * The highest index the leader knows `id` holds in agreement with its own log (for the leader
   * itself, how far its log is durable). Undefined unless this node leads and `id` is a member:
   * followers keep no record of their peers.
   */
  matchIndexOf(id: number): number | undefined {
    if (!this.isLeader()) return undefined;
    return this.raft.tracker.progress.get(id)?.match;
  }

  committedIndex(): number {
    return this.raft.log.committed;
  }

  /** The index of the last entry applied, as acknowledged by advance(). */
  appliedIndex(): number {
    return this.raft.log.applied;
  }

  lastIndex(): number {
    return this.raft.log.lastIndex();
  }

  /**
   * The data of the snapshot the core has accepted from the leader and the driver has not yet
   * persisted (its unstable snapshot, kept until the advance() after the Ready that carries it);
   * undefined when there is none.
   */
  pendingSnapshotData(): Uint8Array | undefined {
    return this.raft.log.unstable.snapshot?.data;
  }

  status(): Status {
    const raft = this.raft;
    const progress: Record<number, { match: number; next: number; state: string; recentActive: boolean }> = {};
    if (raft.state === StateType.Leader) {
      for (const [id, p] of raft.tracker.progress) {
        progress[id] = { match: p.match, next: p.next, state: progressStateName[p.state], recentActive: p.recentActive };
      }
    }
    return {
      id: raft.id,
      term: raft.term,
      vote: raft.vote,
      commit: raft.log.committed,
      applied: raft.log.applied,
      lead: raft.lead,
      state: stateTypeName[raft.state],
      leadTransferee: raft.leadTransferee,
      isLearner: raft.isLearner,
      lastIndex: raft.log.lastIndex(),
      firstIndex: raft.log.firstIndex(),
      progress,
    };
  }
}

