// The public face of the storage room: a member's write-ahead log.

export { Wal, type WalOptions } from './wal.js';
export { onlyCommitAdvances, type SaveBatch } from './save-plan.js';
export type { MemberIdentity } from './identity.js';
export type { WalLogger } from './logger.js';
export { MAX_ENTRY_BYTES, MAX_NAME_BYTES, MAX_SAVE_BYTES, MAX_SNAPSHOT_BYTES } from './limits.js';
export {
  WalError,
  WalErrorCode,
  WalNotFoundError,
  WalIdentityMismatchError,
  WalCorruptError,
  WalLockedError,
  WalUnsupportedFormatError,
  WalLimitExceededError,
} from './errors.js';
