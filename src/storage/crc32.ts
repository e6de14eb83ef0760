// CRC-32 (IEEE 802.3, the polynomial zlib and gzip use). Every WAL record carries one so that a
// record damaged on disk is detected instead of decoded into wrong data. Node's zlib computes it
// natively (Node >= 20.15).

import { crc32 as zlibCrc32 } from 'node:zlib';

/** The CRC-32 of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes);
}
