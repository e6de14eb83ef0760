import { describe, expect, it } from 'vitest';
import { LeaseExistsError, LeaseNotFoundError, Lessor, NotPrimaryError } from '../../src/lease/lessor.js';

const MIN_TTL = 5;
const EXTEND_MS = 1_000;

/** A lessor holding leases 1 (ttl 10 s) and 2 (ttl 20 s), promoted at `now` when asked. */
function lessorWithLeases(options: { primaryAt?: number } = {}): Lessor {
  const lessor = new Lessor(MIN_TTL);
  lessor.grant(1n, 10, 0);
  lessor.grant(2n, 20, 0);
  if (options.primaryAt !== undefined) lessor.promote(options.primaryAt, EXTEND_MS);
  return lessor;
}

describe('replicated changes', () => {
  it('grant adds a lease with its TTL and no keys; a follower keeps no deadline', () => {
    const lessor = new Lessor(MIN_TTL);
    const lease = lessor.grant(7n, 30, 1_000);
    expect(lease).toMatchObject({ id: 7n, ttlSeconds: 30, expiryMs: Infinity, revokeRetryAtMs: 0 });
    expect([...lease.keys]).toEqual([]);
    expect(lessor.has(7n)).toBe(true);
    expect(lessor.get(7n)).toBe(lease);
    expect(lessor.size).toBe(1);
    expect(lessor.ids()).toEqual([7n]);
  });

  it('grant on the primary sets the deadline to now + ttl', () => {
    const lessor = new Lessor(MIN_TTL);
    lessor.promote(0, EXTEND_MS);
    expect(lessor.grant(3n, 10, 5_000).expiryMs).toBe(15_000);
  });

  it('grant keeps the TTL as proposed (the proposer raised it to its minimum)', () => {
    const lessor = new Lessor(MIN_TTL);
    expect(lessor.grant(1n, 2, 0).ttlSeconds).toBe(2);
  });

  it('a duplicate grant throws LeaseExistsError and leaves the lease as it was', () => {
    const lessor = new Lessor(MIN_TTL);
    const lease = lessor.grant(1n, 10, 0);
    lessor.attach(1n, 'k');
    expect(() => lessor.grant(1n, 99, 0)).toThrow(LeaseExistsError);
    try {
      lessor.grant(1n, 99, 0);
    } catch (error) {
      expect((error as LeaseExistsError).code).toBe('LEASE_EXISTS');
      expect((error as LeaseExistsError).leaseId).toBe(1n);
      expect((error as Error).message).toBe('etcdserver: lease already exists');
    }
    expect(lessor.get(1n)).toBe(lease);
    expect(lease.ttlSeconds).toBe(10);
    expect([...lease.keys]).toEqual(['k']);
  });

  it('revoke forgets the lease and returns its keys', () => {
    const lessor = lessorWithLeases();
    lessor.attach(1n, 'a');
    lessor.attach(1n, 'b');
    lessor.attach(2n, 'c');
    expect(lessor.revoke(1n).sort()).toEqual(['a', 'b']);
    expect(lessor.has(1n)).toBe(false);
    expect(lessor.ids()).toEqual([2n]);
    expect(lessor.revoke(2n)).toEqual(['c']);
    expect(lessor.size).toBe(0);
  });

  it('revoke of a missing lease throws LeaseNotFoundError', () => {
    const lessor = lessorWithLeases();
    lessor.revoke(1n);
    expect(() => lessor.revoke(1n)).toThrow(LeaseNotFoundError);
    try {
      lessor.revoke(42n);
    } catch (error) {
      expect((error as LeaseNotFoundError).code).toBe('LEASE_NOT_FOUND');
      expect((error as LeaseNotFoundError).leaseId).toBe(42n);
      expect((error as Error).message).toBe('etcdserver: requested lease not found');
    }
  });

  it('a revoked id can be granted again, with no keys', () => {
    const lessor = lessorWithLeases();
    lessor.attach(1n, 'a');
    lessor.revoke(1n);
    expect([...lessor.grant(1n, 10, 0).keys]).toEqual([]);
  });

  it('attach and detach change the lease\'s key set; a key is held once', () => {
    const lessor = lessorWithLeases();
    lessor.attach(1n, 'a');
    lessor.attach(1n, 'a');
    lessor.attach(1n, 'b');
    expect([...lessor.get(1n)!.keys]).toEqual(['a', 'b']);
    lessor.detach(1n, 'a');
    lessor.detach(1n, 'missing');
    expect([...lessor.get(1n)!.keys]).toEqual(['b']);
    expect([...lessor.get(2n)!.keys]).toEqual([]);
    expect(lessor.revoke(1n)).toEqual(['b']);
  });

  it('attach and detach on a missing lease do nothing', () => {
    const lessor = new Lessor(MIN_TTL);
    lessor.attach(9n, 'a');
    lessor.detach(9n, 'a');
    expect(lessor.has(9n)).toBe(false);
    expect(lessor.size).toBe(0);
  });

  it('clear forgets every lease', () => {
    const lessor = lessorWithLeases();
    lessor.clear();
    expect(lessor.size).toBe(0);
    expect(lessor.ids()).toEqual([]);
  });
});

describe('the primary\'s deadlines', () => {
  it('promote sets every deadline to now + extend + ttl', () => {
    const lessor = lessorWithLeases({ primaryAt: 100_000 });
    expect(lessor.isPrimary).toBe(true);
    expect(lessor.get(1n)!.expiryMs).toBe(100_000 + EXTEND_MS + 10_000);
    expect(lessor.get(2n)!.expiryMs).toBe(100_000 + EXTEND_MS + 20_000);
  });

  it('promote starts afresh a lease whose revocation was pending', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    expect(lessor.expired(50_000, 10, 5_000).sort()).toEqual([1n, 2n]);
    lessor.demote();
    lessor.promote(60_000, EXTEND_MS);
    expect(lessor.get(1n)).toMatchObject({ expiryMs: 60_000 + EXTEND_MS + 10_000, revokeRetryAtMs: 0 });
    expect(lessor.renew(1n, 61_000)).toBe(10);
  });

  it('demote clears the deadlines; renew then throws NotPrimaryError', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    lessor.demote();
    expect(lessor.isPrimary).toBe(false);
    expect(lessor.get(1n)!.expiryMs).toBe(Infinity);
    expect(lessor.get(2n)!.expiryMs).toBe(Infinity);
    expect(() => lessor.renew(1n, 1_000)).toThrow(NotPrimaryError);
    expect(lessor.expired(1e12, 10, 0)).toEqual([]);
  });

  it('a follower cannot renew', () => {
    const lessor = lessorWithLeases();
    expect(() => lessor.renew(1n, 0)).toThrow(NotPrimaryError);
    try {
      lessor.renew(1n, 0);
    } catch (error) {
      expect((error as NotPrimaryError).code).toBe('NOT_PRIMARY');
    }
  });

  it('renew extends the deadline to now + ttl and returns the ttl', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    expect(lessor.renew(1n, 8_000)).toBe(10);
    expect(lessor.get(1n)!.expiryMs).toBe(18_000);
    expect(lessor.renew(1n, 17_999)).toBe(10);
    expect(lessor.get(1n)!.expiryMs).toBe(27_999);
    expect(lessor.get(2n)!.expiryMs).toBe(EXTEND_MS + 20_000);
  });

  it('renew of a missing lease throws LeaseNotFoundError', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    expect(() => lessor.renew(99n, 0)).toThrow(LeaseNotFoundError);
  });

  it('an expired lease cannot be renewed, from its deadline on', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    const deadline = lessor.get(1n)!.expiryMs;
    expect(() => lessor.renew(1n, deadline)).toThrow(LeaseNotFoundError);
    expect(() => lessor.renew(1n, deadline + 1)).toThrow(LeaseNotFoundError);
    expect(lessor.get(1n)!.expiryMs).toBe(deadline);
    expect(lessor.renew(2n, deadline)).toBe(20);
  });

  it('a lease returned by expired() cannot be renewed', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    const now = lessor.get(1n)!.expiryMs;
    expect(lessor.expired(now, 10, 5_000)).toEqual([1n]);
    expect(() => lessor.renew(1n, now)).toThrow(LeaseNotFoundError);
  });
});

describe('expired()', () => {
  it('returns the leases past their deadline only', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    expect(lessor.expired(EXTEND_MS + 10_000 - 1, 10, 60_000)).toEqual([]);
    expect(lessor.expired(EXTEND_MS + 10_000, 10, 60_000)).toEqual([1n]);
    expect(lessor.expired(EXTEND_MS + 20_000, 10, 60_000)).toEqual([2n]);
  });

  it('returns at most max', () => {
    const lessor = new Lessor(MIN_TTL);
    for (let id = 1; id <= 10; id++) lessor.grant(BigInt(id), 5, 0);
    lessor.promote(0, 0);
    const first = lessor.expired(10_000, 3, 60_000);
    expect(first).toHaveLength(3);
    const second = lessor.expired(10_000, 3, 60_000);
    expect(second).toHaveLength(3);
    expect(lessor.expired(10_000, 100, 60_000)).toHaveLength(4);
    expect(new Set([...first, ...second]).size).toBe(6);
    expect(lessor.expired(10_000, 0, 60_000)).toEqual([]);
  });

  it('does not return the same lease again before retryMs, and does after', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    const now = EXTEND_MS + 10_000;
    expect(lessor.expired(now, 10, 5_000)).toEqual([1n]);
    expect(lessor.expired(now, 10, 5_000)).toEqual([]);
    expect(lessor.expired(now + 4_999, 10, 5_000)).toEqual([]);
    expect(lessor.expired(now + 5_000, 10, 5_000)).toEqual([1n]);
    expect(lessor.expired(now + 9_999, 10, 5_000)).toEqual([]);
  });

  it('a lease revoked (its revocation applied) is not returned again', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    const now = EXTEND_MS + 10_000;
    expect(lessor.expired(now, 10, 5_000)).toEqual([1n]);
    lessor.revoke(1n);
    expect(lessor.expired(now + 9_000, 10, 5_000)).toEqual([]);
  });

  it('a renewed lease is not returned', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    lessor.renew(1n, EXTEND_MS + 9_000);
    expect(lessor.expired(EXTEND_MS + 10_000, 10, 5_000)).toEqual([]);
    expect(lessor.expired(EXTEND_MS + 19_000, 10, 5_000)).toEqual([1n]);
  });

  it('returns nothing on a follower, however late', () => {
    const lessor = lessorWithLeases();
    expect(lessor.expired(Number.MAX_SAFE_INTEGER, 10, 0)).toEqual([]);
  });
});

describe('remainingSeconds and effectiveTtl', () => {
  it('remainingSeconds truncates to whole seconds on the primary (as etcd reports it), and never goes below 0', () => {
    const lessor = lessorWithLeases({ primaryAt: 0 });
    lessor.renew(1n, 0); // expires at 10,000
    const lease = lessor.get(1n)!;
    expect(lessor.remainingSeconds(lease, 0)).toBe(10);
    expect(lessor.remainingSeconds(lease, 1)).toBe(9);
    expect(lessor.remainingSeconds(lease, 999)).toBe(9);
    expect(lessor.remainingSeconds(lease, 1_000)).toBe(9);
    expect(lessor.remainingSeconds(lease, 1_001)).toBe(8);
    expect(lessor.remainingSeconds(lease, 9_999)).toBe(0);
    expect(lessor.remainingSeconds(lease, 10_000)).toBe(0);
    expect(lessor.remainingSeconds(lease, 50_000)).toBe(0);
  });

  it('remainingSeconds on a follower is the granted TTL', () => {
    const lessor = lessorWithLeases();
    expect(lessor.remainingSeconds(lessor.get(2n)!, 1e9)).toBe(20);
  });

  it('effectiveTtl raises a TTL to the minimum and keeps a larger one', () => {
    const lessor = new Lessor(MIN_TTL);
    expect(lessor.minTtlSeconds).toBe(MIN_TTL);
    expect(lessor.effectiveTtl(0)).toBe(MIN_TTL);
    expect(lessor.effectiveTtl(-3)).toBe(MIN_TTL);
    expect(lessor.effectiveTtl(MIN_TTL - 1)).toBe(MIN_TTL);
    expect(lessor.effectiveTtl(MIN_TTL)).toBe(MIN_TTL);
    expect(lessor.effectiveTtl(MIN_TTL + 1)).toBe(MIN_TTL + 1);
    expect(lessor.effectiveTtl(3600)).toBe(3600);
  });
});
