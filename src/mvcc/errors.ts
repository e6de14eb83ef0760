// One error class per failure of the revisioned store, each with a stable `code`, so callers branch
// on the class or the code and never on message text (the style of src/raft/errors.ts). The two
// revision errors carry etcd's exact messages: clients (etcdctl, the npm etcd3, the Kubernetes
// apiserver) recognise them by text, and the API layer maps both to gRPC OutOfRange.

export const MvccErrorCode = {
  Compacted: 'MVCC_COMPACTED',
  FutureRevision: 'MVCC_FUTURE_REVISION',
  Corrupt: 'MVCC_CORRUPT',
  LimitExceeded: 'MVCC_LIMIT_EXCEEDED',
  TxnInProgress: 'MVCC_TXN_IN_PROGRESS',
  TxnEnded: 'MVCC_TXN_ENDED',
  WriteFailed: 'MVCC_WRITE_FAILED',
  InvalidArgument: 'MVCC_INVALID_ARGUMENT',
  InvariantViolated: 'MVCC_INVARIANT_VIOLATED',
  DumpMalformed: 'MVCC_DUMP_MALFORMED',
  DumpTruncated: 'MVCC_DUMP_TRUNCATED',
  DumpChecksumMismatch: 'MVCC_DUMP_CHECKSUM_MISMATCH',
  DumpBehindSnapshot: 'MVCC_DUMP_BEHIND_SNAPSHOT',
} as const;
export type MvccErrorCode = (typeof MvccErrorCode)[keyof typeof MvccErrorCode];

export class MvccError extends Error {
  readonly code: MvccErrorCode;
  constructor(code: MvccErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The revision asked for (a read, a hash, a compaction) is at or below what compaction dropped. */
export class CompactedRevisionError extends MvccError {
  readonly revision: number;
  readonly compactedRevision: number;
  constructor(revision: number, compactedRevision: number) {
    super(MvccErrorCode.Compacted, 'etcdserver: mvcc: required revision has been compacted');
    this.revision = revision;
    this.compactedRevision = compactedRevision;
  }
}

/** The revision asked for is beyond the store's current revision. */
export class FutureRevisionError extends MvccError {
  readonly revision: number;
  readonly currentRevision: number;
  constructor(revision: number, currentRevision: number) {
    super(MvccErrorCode.FutureRevision, 'etcdserver: mvcc: required revision is a future revision');
    this.revision = revision;
    this.currentRevision = currentRevision;
  }
}

/** A record on disk fails its checksum or does not decode. */
export class MvccCorruptError extends MvccError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(MvccErrorCode.Corrupt, `mvcc store is corrupt: ${what}`, options);
  }
}

/** A key or value is over its limit (limits.ts). Nothing was changed. */
export class MvccLimitExceededError extends MvccError {
  readonly limit: string;
  readonly size: number;
  readonly max: number;
  constructor(limit: string, size: number, max: number) {
    super(MvccErrorCode.LimitExceeded, `mvcc: ${limit} is ${size}, over the maximum of ${max}`);
    this.limit = limit;
    this.size = size;
    this.max = max;
  }
}

/** write() while another write transaction is open: the store has a single writer (apply). */
export class TxnInProgressError extends MvccError {
  constructor() {
    super(MvccErrorCode.TxnInProgress, 'mvcc: a write transaction is already in progress');
  }
}

/** A write transaction was used after end(). */
export class TxnEndedError extends MvccError {
  constructor() {
    super(MvccErrorCode.TxnEnded, 'mvcc: the write transaction has already ended');
  }
}

/** A batch to classic-level failed; the store refuses further persists (restart and replay the WAL). */
export class MvccWriteFailedError extends MvccError {
  constructor(options?: { cause?: unknown }) {
    super(MvccErrorCode.WriteFailed, 'mvcc: a write to the store database failed; restart the member to replay its log', options);
  }
}

/** An argument the caller should have validated (an empty key, a non-integer revision). */
export class MvccInvalidArgumentError extends MvccError {
  constructor(message: string) {
    super(MvccErrorCode.InvalidArgument, `mvcc: ${message}`);
  }
}

/** An invariant of the store does not hold. These checks stay on in production. */
export class MvccInvariantViolatedError extends MvccError {
  constructor(message: string) {
    super(MvccErrorCode.InvariantViolated, `mvcc invariant violated: ${message}`);
  }
}

/** A store dump's bytes do not frame into pairs (a length past the bound, bytes after the end). */
export class DumpMalformedError extends MvccError {
  constructor(reason: string) {
    super(MvccErrorCode.DumpMalformed, `mvcc: malformed store dump: ${reason}`);
  }
}

/** A store dump ended before its end marker and checksum: the sender stopped half-way. */
export class DumpTruncatedError extends MvccError {
  constructor(receivedBytes: number) {
    super(MvccErrorCode.DumpTruncated, `mvcc: store dump ended after ${receivedBytes} bytes, before its checksum`);
  }
}

/** A store dump's sha256 does not match its pairs. */
export class DumpChecksumMismatchError extends MvccError {
  constructor() {
    super(MvccErrorCode.DumpChecksumMismatch, 'mvcc: store dump fails its sha256 checksum');
  }
}

/** A store dump's meta record is missing or its applied index is behind the snapshot it is for. */
export class DumpBehindSnapshotError extends MvccError {
  constructor(appliedIndex: number | null, snapshotIndex: number) {
    super(
      MvccErrorCode.DumpBehindSnapshot,
      appliedIndex === null
        ? `mvcc: store dump has no meta record (snapshot at ${snapshotIndex})`
        : `mvcc: store dump has applied index ${appliedIndex}, behind its snapshot at ${snapshotIndex}`,
    );
  }
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new MvccInvariantViolatedError(typeof message === 'string' ? message : message());
}
