// Failures a member reports to clients. The message texts are etcd's own (clients match on them);
// the API room maps each code to etcd's gRPC status code.

export const ServerErrorCode = {
  KeyNotProvided: 'KEY_NOT_PROVIDED',
  ValueProvided: 'VALUE_PROVIDED',
  LeaseProvided: 'LEASE_PROVIDED',
  RequestTooLarge: 'REQUEST_TOO_LARGE',
  TooManyRequests: 'TOO_MANY_REQUESTS',
  NoLeader: 'NO_LEADER',
  Timeout: 'TIMEOUT',
  Stopped: 'STOPPED',
  BadConfig: 'BAD_CONFIG',
  MemberNotFound: 'MEMBER_NOT_FOUND',
  PeerUrlExists: 'PEER_URL_EXISTS',
  MemberNotLearner: 'MEMBER_NOT_LEARNER',
  LearnerNotReady: 'LEARNER_NOT_READY',
  BadMemberUrls: 'BAD_MEMBER_URLS',
  Compacted: 'COMPACTED',
  FutureRevision: 'FUTURE_REVISION',
  KeyNotFound: 'KEY_NOT_FOUND',
  BadRequest: 'BAD_REQUEST',
  TooManyOps: 'TOO_MANY_OPS',
  DuplicateKey: 'DUPLICATE_KEY',
  NoSpace: 'NO_SPACE',
  LeaseNotFound: 'LEASE_NOT_FOUND',
  LeaseExists: 'LEASE_EXISTS',
  LeaseTtlTooLarge: 'LEASE_TTL_TOO_LARGE',
  NotLeader: 'NOT_LEADER',
  BadLeaderTransferee: 'BAD_LEADER_TRANSFEREE',
  StoreBehindSnapshot: 'STORE_BEHIND_SNAPSHOT',
  /** An inbound snapshot stream was dropped because a newer one from the leader started. */
  SnapshotSuperseded: 'SNAPSHOT_SUPERSEDED',
  /** A Raft snapshot names a staged store copy this member does not hold (a bug, or an old version's image). */
  StagedSnapshotUnknown: 'STAGED_SNAPSHOT_UNKNOWN',
  /** A committed request met a bug while applying; every member answers it alike and goes on. */
  ApplyFailed: 'APPLY_FAILED',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

export class ServerError extends Error {
  readonly code: ServerErrorCode;
  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerError';
    this.code = code;
  }

  /** A failure many parts of a member report, always with etcd's one message for it. */
  static of(code: GenericCode, options?: { cause?: unknown }): ServerError {
    return new ServerError(code, GENERIC_MESSAGES[code], options);
  }
}

const GENERIC_MESSAGES = {
  [ServerErrorCode.NoLeader]: 'etcdserver: no leader',
  [ServerErrorCode.Timeout]: 'etcdserver: request timed out',
  [ServerErrorCode.Stopped]: 'etcdserver: server stopped',
  [ServerErrorCode.TooManyRequests]: 'etcdserver: too many requests',
  [ServerErrorCode.NoSpace]: 'etcdserver: mvcc: database space exceeded',
} as const;
type GenericCode = keyof typeof GENERIC_MESSAGES;
