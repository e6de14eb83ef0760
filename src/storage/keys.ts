// The key layout of the one classic-level database that holds a member's log. Single-byte prefixes
// keep the singleton records apart from the entries; an entry key is `e` followed by its index as
// 8 big-endian bytes, so LevelDB's byte order is index order and a range scan reads the log in order.

export const IDENTITY_KEY = Buffer.from('i');
export const HARD_STATE_KEY = Buffer.from('h');
export const SNAPSHOT_KEY = Buffer.from('s');
/** Index and term of the last entry removed from the front of the log (compacted or replaced by a snapshot). */
export const LOG_START_KEY = Buffer.from('c');

const ENTRY_PREFIX = 0x65; // 'e'
const ENTRY_KEY_BYTES = 9;
const TWO_POW_32 = 2 ** 32;

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(ENTRY_KEY_BYTES);
  key[0] = ENTRY_PREFIX;
  // Indexes are below 2^53, so two 32-bit halves hold them exactly without bigint.
  key.writeUInt32BE(Math.floor(index / TWO_POW_32), 1);
  key.writeUInt32BE(index >>> 0, 5);
  return key;
}

/** The index in an entry key, or null when `key` is not one. */
export function indexOfEntryKey(key: Uint8Array): number | null {
  if (key.length !== ENTRY_KEY_BYTES || key[0] !== ENTRY_PREFIX) return null;
  const buffer = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return buffer.readUInt32BE(1) * TWO_POW_32 + buffer.readUInt32BE(5);
}

/** Iterator bounds for the entries after `index`: `e` + (index+1) up to, not including, `f`. */
export function entryRangeAfter(index: number): { gt: Buffer; lt: Buffer } {
  return { gt: entryKey(index), lt: Buffer.from([ENTRY_PREFIX + 1]) };
}
