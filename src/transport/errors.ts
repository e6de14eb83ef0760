// One error class per failure, each with a stable `code`, so callers branch on the class or the code
// and never on message text. Errors that cross the wire travel as a gRPC status whose details start
// with the code (see `service.ts`), so the sending side can log the receiver's reason.

export const TransportErrorCode = {
  InvalidOptions: 'TRANSPORT_INVALID_OPTIONS',
  TlsConfig: 'TRANSPORT_TLS_CONFIG',
  ListenFailed: 'TRANSPORT_LISTEN_FAILED',
  Stopped: 'TRANSPORT_STOPPED',
  PeerIsSelf: 'TRANSPORT_PEER_IS_SELF',
  PeerNotFound: 'TRANSPORT_PEER_NOT_FOUND',
  ClusterIdMismatch: 'TRANSPORT_CLUSTER_ID_MISMATCH',
  MemberIdMismatch: 'TRANSPORT_MEMBER_ID_MISMATCH',
  MissingStreamHeader: 'TRANSPORT_MISSING_STREAM_HEADER',
  MessageTooLarge: 'TRANSPORT_MESSAGE_TOO_LARGE',
  SnapshotTooLarge: 'TRANSPORT_SNAPSHOT_TOO_LARGE',
  SnapshotStreamMalformed: 'TRANSPORT_SNAPSHOT_STREAM_MALFORMED',
  SnapshotStreamCut: 'TRANSPORT_SNAPSHOT_STREAM_CUT',
  SnapshotsNotAccepted: 'TRANSPORT_SNAPSHOTS_NOT_ACCEPTED',
  IdentifyFailed: 'TRANSPORT_IDENTIFY_FAILED',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class InvalidTransportOptionsError extends TransportError {
  constructor(message: string) {
    super(TransportErrorCode.InvalidOptions, `transport: invalid options: ${message}`);
  }
}

/** TLS was asked for but cannot be set up (missing or unreadable files, https without certificates). */
export class TlsConfigError extends TransportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(TransportErrorCode.TlsConfig, `transport: tls: ${message}`, options);
  }
}

/** The listener could not bind (address in use, unknown host...); the cause says why. */
export class ListenFailedError extends TransportError {
  constructor(target: string, cause: unknown) {
    super(TransportErrorCode.ListenFailed, `transport: cannot listen on ${target}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class TransportStoppedError extends TransportError {
  constructor() {
    super(TransportErrorCode.Stopped, 'transport: stopped');
  }
}

export class PeerIsSelfError extends TransportError {
  constructor(id: number) {
    super(TransportErrorCode.PeerIsSelf, `transport: member ${id} cannot be its own peer`);
  }
}

export class PeerNotFoundError extends TransportError {
  constructor(id: number) {
    super(TransportErrorCode.PeerNotFound, `transport: peer ${id} not found`);
  }
}

/** The other side belongs to another cluster: refused, so clusters never mix their logs. */
export class ClusterIdMismatchError extends TransportError {
  constructor(expected: number, actual: number) {
    super(TransportErrorCode.ClusterIdMismatch, `cluster id mismatch: expected ${expected}, got ${actual}`);
  }
}

/** A peer URL leads to another member than the one it was configured for. */
export class MemberIdMismatchError extends TransportError {
  constructor(expected: number, actual: number) {
    super(TransportErrorCode.MemberIdMismatch, `member id mismatch: expected ${expected}, got ${actual}`);
  }
}

/** A stream arrived without the metadata every raftkv peer stream carries. */
export class MissingStreamHeaderError extends TransportError {
  constructor(key: string) {
    super(TransportErrorCode.MissingStreamHeader, `missing or invalid stream header ${key}`);
  }
}

/** One message does not fit in a frame (`frameBytesMax`); it is dropped, never sent. */
export class MessageTooLargeError extends TransportError {
  constructor(estimatedBytes: number, frameBytesMax: number) {
    super(TransportErrorCode.MessageTooLarge, `message of ~${estimatedBytes} bytes exceeds frameBytesMax ${frameBytesMax}`);
  }
}

/** A snapshot body past the receiver's `snapshotBytesMax`, counted as it arrives: the rest is refused. */
export class SnapshotTooLargeError extends TransportError {
  constructor(bytes: number, snapshotBytesMax: number) {
    super(TransportErrorCode.SnapshotTooLarge, `snapshot of at least ${bytes} bytes exceeds snapshotBytesMax ${snapshotBytesMax}`);
  }
}

/** The snapshot call ended (cancelled, the connection lost) before the sender finished its body. */
export class SnapshotStreamCutError extends TransportError {
  constructor() {
    super(TransportErrorCode.SnapshotStreamCut, 'snapshot stream cut before its end');
  }
}

/** This member has nowhere to put an inbound snapshot (no `onSnapshotStream`). */
export class SnapshotsNotAcceptedError extends TransportError {
  constructor() {
    super(TransportErrorCode.SnapshotsNotAccepted, 'this member does not accept snapshots');
  }
}

/** A snapshot stream that is not one MsgSnap header followed by its body. */
export class SnapshotStreamMalformedError extends TransportError {
  constructor(reason: string) {
    super(TransportErrorCode.SnapshotStreamMalformed, `malformed snapshot stream: ${reason}`);
  }
}

/** One URL that did not answer Identify, and why. */
export interface IdentifyAttempt {
  readonly url: string;
  readonly error: Error;
}

/**
 * No peer URL answered Identify (each failed or ran out of its deadline). `attempts` lists every
 * URL tried with its error, in order; `cause` is the last of those errors.
 */
export class IdentifyFailedError extends TransportError {
  readonly urls: readonly string[];
  readonly attempts: readonly IdentifyAttempt[];
  constructor(attempts: readonly IdentifyAttempt[]) {
    const tried = attempts.map(({ url, error }) => `${url} (${error.message})`).join(', ');
    super(TransportErrorCode.IdentifyFailed, `transport: no member answered Identify; tried ${tried}`, { cause: attempts.at(-1)?.error });
    this.urls = attempts.map(({ url }) => url);
    this.attempts = attempts;
  }
}
