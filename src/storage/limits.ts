// Every record the log accepts is bounded, so one bad proposal or record cannot exhaust memory or
// stall the disk. Writes over a limit are refused with WalLimitExceededError before anything is
// written.

const MiB = 1024 * 1024;

/** The data of one entry. etcd refuses requests over 1.5 MiB by default; this leaves headroom. */
export const MAX_ENTRY_BYTES = 16 * MiB;

/**
 * One snapshot record's data. raftkv writes none now (a snapshot in the WAL is only a marker; the
 * store is durable on its own and followers get streamed dumps of it); older versions wrote whole
 * store images up to this size, still read so that startup can refuse them with a clear message.
 */
export const MAX_SNAPSHOT_BYTES = 256 * MiB;

/** Everything one save() writes: its entries, snapshot and hard state together. */
export const MAX_SAVE_BYTES = 512 * MiB;

/** A member's name, as recorded in the identity. */
export const MAX_NAME_BYTES = 1024;
