// The Raft consensus state machine. Deterministic: its only inputs are calls to tick() and step(),
// and its only outputs are the messages, log changes and read states it accumulates for RawNode
// to hand out. The role (follower, candidate, leader) is a pair of functions, `tickFn` and `stepFn`,
// set only in the become* methods; term bookkeeping happens once, in step(), before dispatch.

import { ConfChangeType, type ConfChange } from './confchange.js';
import {
  DropReason,
  InvalidConfigError,
  ProposalDroppedError,
  SnapshotTemporarilyUnavailableError,
  CompactedError,
  assert,
} from './errors.js';
import { RaftLog } from './log.js';
import { ProgressState } from './progress.js';
import { VoteResult, hasQuorum } from './quorum.js';
import type { RandomSource } from './random.js';
import { ReadOnly, type ReadRequest, type ReadRound } from './readonly.js';
import type { Storage } from './storage.js';
import { ProgressTracker } from './tracker.js';
import {
  EntryType,
  MessageType,
  NONE,
  StateType,
  entryBytes,
  message,
  mustWaitForPersist,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type ReadState,
  type Snapshot,
} from './types.js';

export interface Logger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

export interface Config {
  /** This member's id, never NONE. */
  readonly id: number;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [n, 2n)). */
  readonly electionTicks: number;
  /** Ticks between the leader's heartbeats. Must be smaller than electionTicks. */
  readonly heartbeatTicks: number;
  readonly storage: Storage;
  /** The last index the application applied before a restart; 0 on a fresh start. */
  readonly applied?: number;
  /** Caps the bytes of entries in one append message. */
  readonly messageBytesMax?: number;
  /** Caps the append messages in flight to one follower (pipelining window). */
  readonly inflightMessagesMax?: number;
  /** Caps the bytes of entries in flight to one follower; 0 means no byte cap. */
  readonly inflightBytesMax?: number;
  /** Caps the bytes of proposed but uncommitted entries on the leader. */
  readonly uncommittedBytesMax?: number;
  /** Caps the bytes of committed entries handed out in one Ready. */
  readonly committedBytesPerReadyMax?: number;
  /** Caps the read requests waiting on the leader. */
  readRequestsMax?: number;
  /** Leader steps down when it has not heard from a quorum for an election timeout. */
  readonly checkQuorum?: boolean;
  /** Campaign only after a pre-vote shows the election could be won. */
  readonly preVote?: boolean;
  readonly disableProposalForwarding?: boolean;
  /** Seeded by the caller: the core has no randomness of its own. */
  readonly random: RandomSource;
  readonly logger?: Logger;
}

export const defaultLimits = {
  messageBytesMax: 1024 * 1024,
  inflightMessagesMax: 512,
  inflightBytesMax: 0,
  uncommittedBytesMax: 64 * 1024 * 1024,
  committedBytesPerReadyMax: 16 * 1024 * 1024,
  readRequestsMax: 100_000,
} as const;

type CampaignKind = 'pre-election' | 'election' | 'transfer';

export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  lead = NONE;
  state: StateType = StateType.Follower;
  /** This member is a learner in the configuration: it replicates but never votes or campaigns. */
  isLearner = false;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readStates: ReadState[] = [];
  /** Messages that may be sent at once, in parallel with persisting the Ready. */
  messages: Message[] = [];
  /** Messages that may only be sent after the Ready's state is durable. */
  messagesAfterPersist: Message[] = [];

  /** Transferee of an ongoing leadership transfer, or NONE. */
  leadTransferee = NONE;
  /** Only one configuration change may be pending: its index, until applied. */
  pendingConfIndex = 0;
  /** Bytes of entries appended by this leader and not yet committed. */
  uncommittedBytes = 0;
  private readOnly: ReadOnly;
  /** Reads that arrived before this leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  private readonly disableProposalForwarding: boolean;
  private readonly messageBytesMax: number;
  private readonly uncommittedBytesMax: number;
  private readonly readRequestsMax: number;
  private readonly random: RandomSource;
  readonly logger: Logger;

  private tickFn: () => void = () => {};
  private stepFn: (m: Message) => void = () => {};

  constructor(config: Config) {
    validateConfig(config);
    this.id = config.id;
    this.electionTimeout = config.electionTicks;
    this.heartbeatTimeout = config.heartbeatTicks;
    this.checkQuorum = config.checkQuorum ?? true;
    this.preVote = config.preVote ?? true;
    this.disableProposalForwarding = config.disableProposalForwarding ?? false;
    this.messageBytesMax = config.messageBytesMax ?? defaultLimits.messageBytesMax;
    this.uncommittedBytesMax = config.uncommittedBytesMax ?? defaultLimits.uncommittedBytesMax;
    this.readRequestsMax = config.readRequestsMax ?? defaultLimits.readRequestsMax;
    this.random = config.random;
    this.logger = config.logger ?? silentLogger;
    this.log = new RaftLog(config.storage, config.committedBytesPerReadyMax ?? defaultLimits.committedBytesPerReadyMax);
    this.tracker = new ProgressTracker(
      config.inflightMessagesMax ?? defaultLimits.inflightMessagesMax,
      config.inflightBytesMax ?? defaultLimits.inflightBytesMax,
    );
    this.readOnly = new ReadOnly(this.readRequestsMax, 0);

    const { hardState, confState } = config.storage.initialState();
    this.applyConfState(confState);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadHardState(hardState);
    if (config.applied !== undefined && config.applied > 0) this.log.appliedTo(config.applied);
    this.becomeFollower(this.term, NONE);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private loadHardState(hardState: HardState): void {
    assert(
      hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
      () => `hard state commit ${hardState.commit} out of range [${this.log.committed}, ${this.log.lastIndex()}]`,
    );
    this.log.committed = hardState.commit;
    this.term = hardState.term;
    this.vote = hardState.vote;
  }

  /** Whether this member may campaign: a voter with no snapshot still to install. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  // ---- sending ------------------------------------------------------------------------------

  private send(fields: Partial<Message> & Pick<Message, 'type'>): void {
    const type = fields.type;
    const term = fields.term ?? 0;
    const carriesOwnTerm =
      type === MessageType.Vote || type === MessageType.VoteResp || type === MessageType.PreVote || type === MessageType.PreVoteResp;
    if (carriesOwnTerm) assert(term !== 0, () => `term should be set when sending message type ${type}`);
    else assert(term === 0, () => `term should not be set when sending message type ${type}`);
    // Proposals and read requests travel as local messages; everything else carries our term.
    const isLocal = type === MessageType.Prop || type === MessageType.ReadIndex;
    // One object per message: this runs for every append and heartbeat.
    const m = message({
      ...fields,
      from: fields.from === undefined || fields.from === NONE ? this.id : fields.from,
      term: carriesOwnTerm || isLocal ? term : this.term,
    });
    (mustWaitForPersist(type) ? this.messagesAfterPersist : this.messages).push(m);
  }

  /** Sends an append (or a snapshot when the entries are gone) if the follower can take one. */
  private maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const progress = this.tracker.progress.get(to);
    if (progress === undefined || progress.isPaused()) return false;
    const prevIndex = progress.next - 1;
    let prevTerm: number;
    let entries: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      entries = progress.state === ProgressState.Replicate && progress.inflights.full()
        ? []
        : this.log.entriesFrom(progress.next, this.messageBytesMax);
    } catch (error) {
      if (error instanceof CompactedError) return this.maybeSendSnapshot(to);
      throw error;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const entry of entries) bytes += entryBytes(entry);
    this.send({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    progress.sentEntries(entries.length, bytes);
    progress.recordSentCommit(this.log.committed);
    return true;
  }

  private maybeSendSnapshot(to: number): boolean {
    const progress = this.tracker.progress.get(to);
    if (progress === undefined) return false;
    if (!progress.recentActive) {
      this.logger.debug({ to }, 'not sending snapshot to a member that is not recently active');
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.log.snapshot();
    } catch (error) {
      if (error instanceof SnapshotTemporarilyUnavailableError) {
        this.logger.debug({ to }, 'snapshot temporarily unavailable; will retry');
        return false;
      }
      throw error;
    }
    assert(snapshot.metadata.index !== 0, 'need a non-empty snapshot to send');
    this.logger.debug({ to, snapshotIndex: snapshot.metadata.index, match: progress.match }, 'sending snapshot');
    progress.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: MessageType.Snap, to, snapshot });
    return true;
  }

  private sendHeartbeat(to: number, readRound: number): void {
    const progress = this.tracker.progress.get(to);
    // A follower may not have the entries up to our commit index yet: never tell it more than it holds.
    const commit = Math.min(progress?.match ?? 0, this.log.committed);
    progress?.recordSentCommit(commit);
    this.send({ type: MessageType.Heartbeat, to, commit, readRound });
  }

  private forEachPeer(visit: (id: number) => void): void {
    for (const id of this.tracker.voters) if (id !== this.id) visit(id);
    for (const id of this.tracker.learners) if (id !== this.id) visit(id);
  }

  bcastAppend(): void {
    this.forEachPeer((id) => this.maybeSendAppend(id, true));
  }

  private bcastHeartbeat(): void {
    const readRound = this.readOnly.roundToConfirm();
    this.forEachPeer((id) => this.sendHeartbeat(id, readRound));
  }

  // ---- role transitions ---------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.tracker.resetVotes();
    const next = this.log.lastIndex() + 1;
    for (const [id, progress] of this.tracker.progress) {
      progress.resetForNewTerm(next, id === this.id ? this.log.durableLastIndex() : 0);
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly = new ReadOnly(this.readRequestsMax, this.readOnly.roundIdHighWater);
    this.pendingReadIndexMessages = [];
  }

  /**
   * A side channel says this follower's leader is gone (say, its process refused a connection):
   * forget it, so this member grants pre-votes at once instead of honouring the leader's lease,
   * and campaign after a short delay instead of a whole election timeout. The delay is 1 + 2 × this
   * member's rank among the other voters (by id), so followers that learn it together do not split
   * the vote. Safety never rests on the signal: a wrong one costs at most an election, and a leader
   * that is alive is remembered again at its next heartbeat.
   */
  forgetLeader(): void {
    if (this.state !== StateType.Follower || this.lead === NONE) return;
    const formerLeader = this.lead;
    this.logger.info({ id: this.id, lead: formerLeader, term: this.term }, 'forgetting the leader');
    this.lead = NONE;
    const rank = Math.max(0, this.tracker.voters.filter((id) => id !== formerLeader).sort((a, b) => a - b).indexOf(this.id));
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - 1 - 2 * rank);
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.random.intBelow(this.electionTimeout);
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = (m) => this.stepFollower(m);
    this.tickFn = () => this.tickElection();
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
    this.logger.debug({ id: this.id, term, lead }, 'became follower');
  }

  private becomePreCandidate(): void {
    assert(this.state !== StateType.Leader, 'invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither its term nor its vote: it only asks whether it could win.
    this.stepFn = (m) => this.stepCandidate(m);
    this.tickFn = () => this.tickElection();
    this.tracker.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
    this.logger.debug({ id: this.id, term: this.term }, 'became pre-candidate');
  }

  private becomeCandidate(): void {
    assert(this.state !== StateType.Leader, 'invalid transition [leader -> candidate]');
    this.stepFn = (m) => this.stepCandidate(m);
    this.tickFn = () => this.tickElection();
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.logger.debug({ id: this.id, term: this.term }, 'became candidate');
  }

  private becomeLeader(): void {
    assert(this.state !== StateType.Follower, 'invalid transition [follower -> leader]');
    this.stepFn = (m) => this.stepLeader(m);
    this.tickFn = () => this.tickHeartbeat();
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      // Our own log needs no probing; it is replicated to ourselves by persisting it.
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Conservatively treat every entry we hold as possibly a configuration change, so no new one
    // is proposed until everything before this term is applied.
    this.pendingConfIndex = this.log.lastIndex();
    // The empty entry commits the previous terms' entries (only entries of the current term are
    // committed by counting replicas).
    const appended = this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    assert(appended, 'the empty entry of a new term must always be accepted');
    this.logger.info({ id: this.id, term: this.term }, 'became leader');
  }

  // ---- ticks --------------------------------------------------------------------------------

  tick(): void {
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat, from: this.id }));
    }
  }

  // ---- elections ----------------------------------------------------------------------------

  /** Whether committed but unapplied entries include a configuration change. */
  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    let low = this.log.applied + 1;
    const high = this.log.committed + 1;
    while (low < high) {
      const batch = this.log.slice(low, high, this.messageBytesMax);
      for (const entry of batch) if (entry.type === EntryType.ConfChange) return true;
      low += batch.length;
    }
    return false;
  }

  private hup(kind: CampaignKind): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) {
      this.logger.warn({ id: this.id }, 'not promotable; cannot campaign');
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn({ id: this.id }, 'cannot campaign while configuration changes are unapplied');
      return;
    }
    this.campaign(kind);
  }

  private campaign(kind: CampaignKind): void {
    let voteType: MessageType;
    let term: number;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      // Pre-votes ask about the next term without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    const result = this.poll(this.id, true);
    if (result === VoteResult.Won) {
      // A single-voter cluster: we won by voting for ourselves.
      if (kind === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.send({ type: voteType, to: id, term, index, logTerm, transfer: kind === 'transfer' });
    }
  }

  private poll(from: number, granted: boolean): VoteResult {
    return this.tracker.recordVote(from, granted);
  }

  private handleVoteRequest(m: Message): void {
    const isPreVote = m.type === MessageType.PreVote;
    const responseType = isPreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      // A pre-vote for a future term says nothing about this term's vote.
      (isPreVote && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // The response carries the request's term: for a pre-vote our own term has not moved.
      this.send({ type: responseType, to: m.from, term: m.term });
      if (!isPreVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- the one entry point for messages -----------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // A local message (or a proposal / read forwarded as one).
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!m.transfer && inLease) {
          // We heard from a leader within the election timeout: a member that lost touch with it
          // must not depose it (check-quorum leases).
          this.logger.debug({ id: this.id, from: m.from, term: m.term }, 'ignoring vote request within leader lease');
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change term in answer to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // The term moves only once the pre-vote is won.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (say, back from a partition) learns our term and steps down; without
        // this answer it could keep its followers from ever electing past it.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? 'pre-election' : 'election');
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
      default:
        this.stepFn(m);
    }
  }

  // ---- leader -------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.tracker.quorumActive(this.id)) {
          this.logger.warn({ id: this.id, term: this.term }, 'stepping down: quorum is not active');
          this.becomeFollower(this.term, NONE);
        }
        for (const [id, progress] of this.tracker.progress) if (id !== this.id) progress.recentActive = false;
        return;
      case MessageType.Prop:
        this.leaderPropose(m);
        return;
      case MessageType.ReadIndex:
        this.leaderReadIndex(m);
        return;
    }
    const progress = this.tracker.progress.get(m.from);
    if (progress === undefined) return; // not (or no longer) a member
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppendResponse(m);
        return;
      case MessageType.HeartbeatResp:
        progress.recentActive = true;
        progress.msgAppFlowPaused = false;
        if (progress.match < this.log.lastIndex() || progress.state === ProgressState.Probe) this.maybeSendAppend(m.from, true);
        if (m.readRound !== 0) this.acknowledgeReadRound(m.readRound, m.from);
        return;
      case MessageType.SnapStatus:
        if (progress.state !== ProgressState.Snapshot) return;
        if (m.reject) progress.pendingSnapshot = 0;
        // Either way, probe from where the snapshot left the follower, after the next heartbeat.
        progress.becomeProbe();
        progress.msgAppFlowPaused = true;
        return;
      case MessageType.Unreachable:
        // Appends in flight were probably lost: go back to probing.
        if (progress.state === ProgressState.Replicate) progress.becomeProbe();
        return;
      case MessageType.TransferLeader:
        this.handleTransferLeader(m.from);
        return;
    }
  }

  private leaderPropose(m: Message): void {
    assert(m.entries.length > 0, 'stepped empty proposal');
    if (!this.tracker.progress.has(this.id)) throw new ProposalDroppedError(DropReason.NotInConfiguration);
    if (this.leadTransferee !== NONE) throw new ProposalDroppedError(DropReason.TransferInProgress);
    const entries = m.entries.map((entry) => {
      if (entry.type !== EntryType.ConfChange) return entry;
      if (this.pendingConfIndex > this.log.applied) {
        // One configuration change at a time: this one is turned into an empty entry so the
        // caller's wait for it ends without effect.
        this.logger.warn({ id: this.id, pendingConfIndex: this.pendingConfIndex }, 'dropping conf change: another is pending');
        return { ...entry, type: EntryType.Normal, data: new Uint8Array(0) };
      }
      return entry;
    });
    const firstIndex = this.log.lastIndex() + 1;
    if (!this.appendEntries(entries)) throw new ProposalDroppedError(DropReason.UncommittedLimit);
    entries.forEach((entry, offset) => {
      if (entry.type === EntryType.ConfChange) this.pendingConfIndex = firstIndex + offset;
    });
    this.bcastAppend();
  }

  /** Appends proposals to our log with this term. Returns false when over the uncommitted limit. */
  private appendEntries(proposed: readonly Entry[]): boolean {
    const lastIndex = this.log.lastIndex();
    let bytes = 0;
    for (const entry of proposed) bytes += entry.data.byteLength;
    // One proposal is always allowed when nothing is outstanding, however large.
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > this.uncommittedBytesMax) return false;
    this.uncommittedBytes += bytes;
    const entries = proposed.map((entry, offset) => ({ ...entry, term: this.term, index: lastIndex + 1 + offset }));
    this.log.append(entries);
    // Our own acknowledgement comes only once these are durable (see stableTo).
    return true;
  }

  /** Called when entries up to `index` reached our disk. */
  stableTo(index: number, term: number): void {
    if (!this.log.unstable.stableTo(index, term)) return;
    if (this.state !== StateType.Leader) return;
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined && self.maybeUpdate(this.log.durableLastIndex()) && this.maybeCommit()) {
      this.onCommitAdvanced();
    }
  }

  /** Gives back uncommitted-bytes credit for entries that have committed. */
  reduceUncommittedBytes(entries: readonly Entry[]): void {
    if (this.uncommittedBytes === 0) return;
    let bytes = 0;
    for (const entry of entries) bytes += entry.data.byteLength;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  /** Advances the commit index if a quorum holds an entry of this term beyond it. */
  private maybeCommit(): boolean {
    const quorumIndex = this.tracker.committed();
    if (quorumIndex <= this.log.committed) return false;
    // Only an entry of the current term commits by counting replicas (Raft paper §5.4.2).
    if (this.log.termOrZero(quorumIndex) !== this.term) return false;
    this.log.commitTo(quorumIndex);
    return true;
  }

  private onCommitAdvanced(): void {
    this.releasePendingReadIndexMessages();
    this.bcastAppend();
  }

  private handleAppendResponse(m: Message): void {
    const progress = this.tracker.progress.get(m.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (m.reject) {
      let nextProbeIndex = m.rejectHint;
      if (m.logTerm > 0) nextProbeIndex = this.log.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      if (progress.maybeDecreaseTo(m.index, nextProbeIndex)) {
        if (progress.state === ProgressState.Replicate) progress.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    // A probe answered at exactly the known match still proves the follower is in step: move it
    // back to Replicate rather than leaving it paused until the next heartbeat.
    const recoversFromProbe = progress.match === m.index && progress.state === ProgressState.Probe;
    if (!progress.maybeUpdate(m.index) && !recoversFromProbe) return;
    if (progress.state === ProgressState.Probe) {
      progress.becomeReplicate();
    } else if (progress.state === ProgressState.Snapshot && progress.match + 1 >= this.log.firstIndex()) {
      // The follower caught up past the snapshot and our log covers it again.
      progress.becomeProbe();
      progress.becomeReplicate();
    } else if (progress.state === ProgressState.Replicate) {
      progress.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.onCommitAdvanced();
    } else if (progress.canBumpCommit(this.log.committed)) {
      // Tell the follower the commit index now rather than at the next heartbeat.
      this.maybeSendAppend(m.from, true);
    }
    // The window may have opened by more than one message: keep the pipeline full.
    while (this.maybeSendAppend(m.from, false)) {
      // each call sends one message
    }
    if (m.from === this.leadTransferee && progress.match === this.log.lastIndex()) {
      this.logger.info({ id: this.id, to: m.from }, 'transferee caught up; sending TimeoutNow');
      this.send({ type: MessageType.TimeoutNow, to: m.from });
    }
  }

  private handleTransferLeader(transferee: number): void {
    const progress = this.tracker.progress.get(transferee);
    if (progress === undefined || progress.isLearner) {
      this.logger.debug({ id: this.id, transferee }, 'ignoring leadership transfer to a non-voter');
      return;
    }
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return; // the same transfer is already under way
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return; // already leader
    // The transfer must finish within one election timeout or it is abandoned.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (progress.match === this.log.lastIndex()) this.send({ type: MessageType.TimeoutNow, to: transferee });
    else this.maybeSendAppend(transferee, true);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- reads --------------------------------------------------------------------------------

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  private leaderReadIndex(m: Message): void {
    const request: ReadRequest = { from: m.from === this.id ? NONE : m.from, context: m.context };
    if (this.tracker.voters.length === 1 && this.tracker.voters[0] === this.id) {
      this.answerRead(request, this.log.committed);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may still be behind the previous leader's until our empty entry commits.
      if (this.pendingReadIndexMessages.length + this.readOnly.pendingCount() >= this.readRequestsMax) {
        throw new ProposalDroppedError(DropReason.ReadQueueFull);
      }
      this.pendingReadIndexMessages.push(m);
      return;
    }
    const round = this.readOnly.add(request, this.log.committed, this.id);
    if (round !== null) this.broadcastReadRound(round);
  }

  private broadcastReadRound(round: ReadRound): void {
    this.forEachPeer((id) => this.sendHeartbeat(id, round.id));
  }

  private acknowledgeReadRound(roundId: number, from: number): void {
    if (!this.tracker.isVoter(from)) return;
    const outcome = this.readOnly.acknowledge(
      roundId,
      from,
      (acks) => hasQuorum(this.tracker.voters, (id) => acks.has(id)),
      this.log.committed,
      this.id,
    );
    if (outcome === null) return;
    for (const request of outcome.finished.requests) this.answerRead(request, outcome.finished.index);
    if (outcome.next !== null) this.broadcastReadRound(outcome.next);
  }

  private answerRead(request: ReadRequest, index: number): void {
    if (request.from === NONE || request.from === this.id) {
      this.readStates.push({ index, context: request.context });
    } else {
      this.send({ type: MessageType.ReadIndexResp, to: request.from, index, context: request.context });
    }
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.leaderReadIndex(m);
  }

  // ---- candidate ----------------------------------------------------------------------------

  private stepCandidate(m: Message): void {
    const ourVoteResponse = this.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw new ProposalDroppedError(DropReason.NoLeader);
      case MessageType.ReadIndex:
        throw new ProposalDroppedError(DropReason.NoLeader);
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case ourVoteResponse: {
        const result = this.poll(m.from, !m.reject);
        if (result === VoteResult.Won) {
          if (this.state === StateType.PreCandidate) {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          // A pre-vote rejection may carry our own term: stay at it and wait for the next timeout.
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      case MessageType.TimeoutNow:
        return; // we are already campaigning
    }
  }

  // ---- follower -----------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) throw new ProposalDroppedError(DropReason.NoLeader);
        if (this.disableProposalForwarding) throw new ProposalDroppedError(DropReason.ForwardingDisabled);
        this.send({ ...m, to: this.lead, from: m.from === NONE ? this.id : m.from });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) {
          this.logger.debug({ id: this.id }, 'no leader; dropping leadership transfer');
          return;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.TimeoutNow:
        this.logger.info({ id: this.id, term: this.term }, 'received TimeoutNow; campaigning at once');
        // Leadership transfers skip the pre-vote: the old leader has asked us to take over.
        this.hup('transfer');
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) throw new ProposalDroppedError(DropReason.NoLeader);
        this.send({ ...m, to: this.lead, from: m.from === NONE ? this.id : m.from });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context });
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      // Everything up to our commit index already matches: tell the leader where we are.
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
      return;
    }
    const lastNewIndex = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNewIndex !== undefined) {
      this.send({ type: MessageType.AppResp, to: m.from, index: lastNewIndex });
      return;
    }
    // Our log does not match at m.index. Hint the leader to the last index where it might: the
    // largest index whose term is <= the leader's term there.
    const hintIndex = Math.min(m.index, this.log.lastIndex());
    const [rejectHint, logTerm] = this.log.findConflictByTerm(hintIndex, m.logTerm);
    this.send({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint, logTerm });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: MessageType.HeartbeatResp, to: m.from, readRound: m.readRound });
  }

  private handleSnapshot(m: Message): void {
    assert(m.snapshot !== null, 'snapshot message without a snapshot');
    const { index, term } = m.snapshot.metadata;
    if (this.restore(m.snapshot)) {
      this.logger.info({ id: this.id, index, term }, 'restored snapshot');
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed });
    }
  }

  /** Installs a snapshot from the leader. Returns false when it brings nothing new. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.state !== StateType.Follower) {
      // Only a follower receives snapshots from a leader of its term; anything else is a bug
      // elsewhere, so step away from the term rather than install.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry: just learn that it is committed.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.resetConfiguration(confState);
    return true;
  }

  // ---- configuration ------------------------------------------------------------------------

  private resetConfiguration(confState: ConfState): void {
    for (const id of [...this.tracker.progress.keys()]) this.tracker.removeMember(id);
    this.applyConfState(confState);
  }

  private applyConfState(confState: ConfState): void {
    const next = this.log.lastIndex() + 1;
    for (const id of confState.voters) this.tracker.setMember(id, false, next);
    for (const id of confState.learners) this.tracker.setMember(id, true, next);
    this.isLearner = this.tracker.progress.get(this.id)?.isLearner ?? false;
  }

  /**
   * Applies a committed configuration change; the application calls this when it applies the
   * entry. Changes that would leave the cluster without voters, or demote a voter, are ignored
   * (every member ignores them alike, as they apply the same log).
   */
  applyConfChange(change: ConfChange): ConfState {
    const next = this.log.lastIndex() + 1;
    const existing = this.tracker.progress.get(change.nodeId);
    switch (change.type) {
      case ConfChangeType.AddNode:
        this.tracker.setMember(change.nodeId, false, next);
        break;
      case ConfChangeType.AddLearnerNode:
        if (existing === undefined) this.tracker.setMember(change.nodeId, true, next);
        break;
      case ConfChangeType.RemoveNode:
        if (existing !== undefined && !(this.tracker.voters.length === 1 && !existing.isLearner)) {
          this.tracker.removeMember(change.nodeId);
        }
        break;
      case ConfChangeType.UpdateNode:
        break;
    }
    this.isLearner = this.tracker.progress.get(this.id)?.isLearner ?? false;
    this.afterConfigurationChange();
    return this.tracker.confState();
  }

  private afterConfigurationChange(): void {
    if (this.state !== StateType.Leader) return;
    if (!this.tracker.isVoter(this.id)) {
      // We were removed: step down so the remaining voters elect a leader among themselves.
      this.logger.info({ id: this.id, term: this.term }, 'removed from the configuration; stepping down');
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee !== NONE && !this.tracker.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // The quorum may have shrunk, letting the commit index move; new members need their first append.
    if (this.maybeCommit()) this.onCommitAdvanced();
    else this.bcastAppend();
  }
}

function validateConfig(config: Config): void {
  if (!Number.isSafeInteger(config.id) || config.id <= 0) throw new InvalidConfigError(`id must be a positive safe integer, got ${config.id}`);
  if (!(config.heartbeatTicks > 0)) throw new InvalidConfigError('heartbeatTicks must be positive');
  if (!(config.electionTicks > config.heartbeatTicks)) throw new InvalidConfigError('electionTicks must exceed heartbeatTicks');
  if (config.inflightMessagesMax !== undefined && !(config.inflightMessagesMax > 0)) {
    throw new InvalidConfigError('inflightMessagesMax must be positive');
  }
}
