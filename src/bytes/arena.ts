// Long-lived bytes (values the store caches, log entries the WAL keeps in memory) packed into
// slabs of their own. A leaf room: it imports nothing, and any room may use it.
//
// Buffer.from() copies small buffers into Node's shared 8 KiB pool, where they sit among the
// short-lived buffers of everything else (encoded records, network frames). Once those are
// collected, each pool slab stays alive for the one record copy in it: at 100,000 keys of 256
// bytes that was 9,000 slabs (70 MiB) holding 27 MiB of records. Copies made here share slabs only
// with other kept bytes, so a slab is freed only when every record in it is gone, and is dense
// until then.

/** Bytes per slab; copies larger than an eighth of it get their own allocation. */
const SLAB_BYTES = 64 * 1024;
const SHARED_COPY_BYTES_MAX = SLAB_BYTES / 8;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let offset = 0;

/** A copy of `bytes` that shares memory only with other kept bytes. */
export function keepBytes(bytes: Uint8Array): Buffer {
  const length = bytes.byteLength;
  if (length > SHARED_COPY_BYTES_MAX) {
    const own = Buffer.allocUnsafeSlow(length);
    own.set(bytes);
    return own;
  }
  if (offset + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    offset = 0;
  }
  const copy = slab.subarray(offset, offset + length);
  copy.set(bytes);
  offset += length;
  return copy;
}
