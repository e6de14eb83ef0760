// One error class per failure of the write-ahead log, each with a stable `code`, so callers branch
// on the class or the code and never on message text (the style of src/raft/errors.ts).

import type { MemberIdentity } from './identity.js';

export const WalErrorCode = {
  NotFound: 'WAL_NOT_FOUND',
  IdentityMismatch: 'WAL_IDENTITY_MISMATCH',
  Corrupt: 'WAL_CORRUPT',
  Locked: 'WAL_LOCKED',
  UnsupportedFormat: 'WAL_UNSUPPORTED_FORMAT',
  LimitExceeded: 'WAL_LIMIT_EXCEEDED',
} as const;
export type WalErrorCode = (typeof WalErrorCode)[keyof typeof WalErrorCode];

export class WalError extends Error {
  readonly code: WalErrorCode;
  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Opened without an identity (an existing member restarting), but the directory holds no log. */
export class WalNotFoundError extends WalError {
  constructor(dir: string, options?: { cause?: unknown }) {
    super(WalErrorCode.NotFound, `no write-ahead log found in ${dir}`, options);
  }
}

/** The log belongs to another member or cluster. Nothing is changed on disk. */
export class WalIdentityMismatchError extends WalError {
  readonly stored: MemberIdentity;
  readonly expected: MemberIdentity;
  constructor(dir: string, stored: MemberIdentity, expected: MemberIdentity) {
    super(
      WalErrorCode.IdentityMismatch,
      `the write-ahead log in ${dir} belongs to ${describe(stored)}, but this member is ${describe(expected)}; ` +
        'refusing to open it (nothing was changed; use another --data-dir or remove this one deliberately)',
    );
    this.stored = stored;
    this.expected = expected;
  }
}

/** A record that matters (identity, hard state, snapshot, a committed entry) is damaged or missing. */
export class WalCorruptError extends WalError {
  constructor(dir: string, what: string, options?: { cause?: unknown }) {
    super(WalErrorCode.Corrupt, `write-ahead log in ${dir} is corrupt: ${what}`, options);
  }
}

/** Another process (or this one) has the log open. */
export class WalLockedError extends WalError {
  constructor(dir: string, options?: { cause?: unknown }) {
    super(WalErrorCode.Locked, `write-ahead log in ${dir} is locked by another process`, options);
  }
}

/** The log was written by a newer or unknown version of the on-disk format. */
export class WalUnsupportedFormatError extends WalError {
  constructor(dir: string, format: unknown) {
    super(WalErrorCode.UnsupportedFormat, `write-ahead log in ${dir} has unsupported format ${String(format)}`);
  }
}

/** A record exceeds one of the documented limits in limits.ts; nothing was written. */
export class WalLimitExceededError extends WalError {
  constructor(what: string, bytes: number, limit: number) {
    super(WalErrorCode.LimitExceeded, `${what} is ${bytes} bytes, over the limit of ${limit}`);
  }
}

function describe(identity: MemberIdentity): string {
  return `member ${identity.name} (id ${hex(identity.memberId)}) of cluster ${hex(identity.clusterId)}`;
}

function hex(id: number): string {
  return id.toString(16).padStart(16, '0');
}
