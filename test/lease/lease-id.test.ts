import { describe, expect, it } from 'vitest';
import { LEASE_ID_MAX, LEASE_ID_MIN, LeaseIdInvalidError, leaseIdFromBits, toLeaseId } from '../../src/lease/lease-id.js';

describe('toLeaseId', () => {
  it('takes a bigint, a number, a decimal string or Long halves, absent as 0', () => {
    expect(toLeaseId(LEASE_ID_MAX)).toBe(2n ** 63n - 1n);
    expect(toLeaseId(-5)).toBe(-5n);
    expect(toLeaseId(0)).toBe(0n);
    expect(toLeaseId(undefined)).toBe(0n);
    expect(toLeaseId(null)).toBe(0n);
    expect(toLeaseId('9223372036854775807')).toBe(LEASE_ID_MAX);
    expect(toLeaseId('-9223372036854775808')).toBe(LEASE_ID_MIN);
    expect(toLeaseId({ low: -1, high: 0x7fffffff })).toBe(LEASE_ID_MAX);
    expect(toLeaseId({ low: 0, high: -0x80000000 })).toBe(LEASE_ID_MIN);
    expect(toLeaseId({ low: 1, high: 0x200000 })).toBe(2n ** 53n + 1n);
  });

  it('refuses what is no int64', () => {
    for (const bad of [1.5, 2 ** 63, '12a', '', '9223372036854775808', 2n ** 63n, -(2n ** 63n) - 1n, {}]) {
      expect(() => toLeaseId(bad as never), String(bad)).toThrow(LeaseIdInvalidError);
    }
  });
});

describe('leaseIdFromBits', () => {
  it('reads two\'s-complement halves exactly', () => {
    expect(leaseIdFromBits({ low: -1, high: -1 })).toBe(-1n);
    expect(leaseIdFromBits({ low: 0, high: 0 })).toBe(0n);
    expect(leaseIdFromBits({ low: 0x7fffffff, high: 0 })).toBe(0x7fffffffn);
    expect(leaseIdFromBits({ low: -2, high: -0x200001 })).toBe(-(2n ** 53n) - 2n);
  });
});
