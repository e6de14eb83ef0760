// Everything the store accepts is bounded, so one bad request cannot exhaust memory. (Snapshots are
// streamed store dumps, never an image in memory: src/mvcc/store-dump.ts; they have no bound here.)
// Writes over a limit are refused with MvccLimitExceededError before anything changes; the API
// layer is expected to refuse such requests earlier (etcd's max-request-bytes, 1.5 MiB), so these
// are a backstop that every member hits identically (apply stays deterministic).

const MiB = 1024 * 1024;

export interface MvccLimits {
  /** One key. etcd bounds keys only through the request size. */
  readonly keyBytesMax: number;
  /** One value. */
  readonly valueBytesMax: number;
}

export const DEFAULT_MVCC_LIMITS: MvccLimits = {
  keyBytesMax: 16 * MiB,
  valueBytesMax: 16 * MiB,
};
