// Lease IDs are signed 64-bit integers, as in etcd: a client may grant any int64 ID (0 asks the
// server to choose), so 2^63−1, −2^63 and everything between must survive every hop exactly. A JS
// number cannot hold them all; a bigint can, so a LeaseId is a bigint everywhere inside a member.

export type LeaseId = bigint;

/** "No lease": a key without one, and a grant request that leaves the choice to the server. */
export const NO_LEASE: LeaseId = 0n;

export const LEASE_ID_MIN: LeaseId = -(2n ** 63n);
export const LEASE_ID_MAX: LeaseId = 2n ** 63n - 1n;

/** Thrown for a value that is no int64: a fraction, a number past 2^63, text that is no integer. */
export class LeaseIdInvalidError extends Error {
  readonly code = 'LEASE_ID_INVALID';
  constructor(readonly value: unknown) {
    super(`lease: ${String(value)} is not a 64-bit lease ID`);
    this.name = 'LeaseIdInvalidError';
  }
}

/** The two 32-bit halves of a 64-bit integer, as protobufjs's Long holds them. */
export interface LongBits {
  readonly low: number;
  readonly high: number;
}

/** An int64 held as two's-complement halves (a protobufjs Long): exact. */
export function leaseIdFromBits(bits: LongBits): LeaseId {
  if (bits.high === 0 && bits.low === 0) return NO_LEASE;
  // BigInt's shift and or act on an unbounded two's complement, so a negative high half stays negative.
  return (BigInt(bits.high | 0) << 32n) | BigInt(bits.low >>> 0);
}

/**
 * A lease ID from whatever a decoder hands over: a bigint (exact decoders), a number (proto-loader
 * with longs: Number, exact only up to 2^53), a decimal string (longs: String) or a Long. Absent
 * means 0, as protobuf's default.
 */
export function toLeaseId(value: bigint | number | string | LongBits | null | undefined): LeaseId {
  if (value === undefined || value === null) return NO_LEASE;
  let id: bigint;
  if (typeof value === 'bigint') id = value;
  else if (typeof value === 'number') {
    if (value === 0) return NO_LEASE;
    if (!Number.isInteger(value)) throw new LeaseIdInvalidError(value);
    id = BigInt(value);
  } else if (typeof value === 'string') {
    if (!/^-?\d+$/.test(value)) throw new LeaseIdInvalidError(value);
    id = BigInt(value);
  } else if (typeof value === 'object' && typeof value.low === 'number' && typeof value.high === 'number') {
    return leaseIdFromBits(value);
  } else {
    throw new LeaseIdInvalidError(value);
  }
  if (id < LEASE_ID_MIN || id > LEASE_ID_MAX) throw new LeaseIdInvalidError(value);
  return id;
}
