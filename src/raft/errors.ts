// One error class per failure, each with a stable `code`, so callers branch on the class or the code
// and never on message text.

export const RaftErrorCode = {
  Compacted: 'RAFT_COMPACTED',
  Unavailable: 'RAFT_UNAVAILABLE',
  SnapshotTemporarilyUnavailable: 'RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  ProposalDropped: 'RAFT_PROPOSAL_DROPPED',
  ReadyNotAdvanced: 'RAFT_READY_NOT_ADVANCED',
  InvariantViolated: 'RAFT_INVARIANT_VIOLATED',
  InvalidConfig: 'RAFT_INVALID_CONFIG',
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The requested index is below the first index still held (it was compacted into a snapshot). */
export class CompactedError extends RaftError {
  constructor(index: number) {
    super(RaftErrorCode.Compacted, `requested index ${index} is unavailable due to compaction`);
  }
}

/** The requested index is beyond the last index held. */
export class UnavailableError extends RaftError {
  constructor(index: number) {
    super(RaftErrorCode.Unavailable, `requested entry at index ${index} is unavailable`);
  }
}

/** Storage cannot produce a snapshot right now; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor() {
    super(RaftErrorCode.SnapshotTemporarilyUnavailable, 'snapshot is temporarily unavailable');
  }
}

export const DropReason = {
  NoLeader: 'no leader',
  TransferInProgress: 'leadership transfer in progress',
  NotInConfiguration: 'this member is not in the configuration',
  UncommittedLimit: 'too many uncommitted bytes',
  ReadQueueFull: 'too many pending read requests',
  ForwardingDisabled: 'proposal forwarding is disabled',
  NotLeader: 'this member is not the leader',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** A proposal or read request was not accepted; the caller may retry (possibly elsewhere). */
export class ProposalDroppedError extends RaftError {
  readonly reason: DropReason;
  constructor(reason: DropReason) {
    super(RaftErrorCode.ProposalDropped, `raft proposal dropped: ${reason}`);
    this.reason = reason;
  }
}

export class ReadyNotAdvancedError extends RaftError {
  constructor() {
    super(RaftErrorCode.ReadyNotAdvanced, 'raft: the previous Ready was not advanced');
  }
}

/** An invariant of the core does not hold. These checks stay on in production. */
export class InvariantViolatedError extends RaftError {
  constructor(message: string) {
    super(RaftErrorCode.InvariantViolated, `raft invariant violated: ${message}`);
  }
}

export class InvalidConfigError extends RaftError {
  constructor(message: string) {
    super(RaftErrorCode.InvalidConfig, `raft: invalid config: ${message}`);
  }
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolatedError(typeof message === 'string' ? message : message());
}
