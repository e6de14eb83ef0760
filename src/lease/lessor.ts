// Leases (etcd's lessor): which leases exist, their granted TTLs and the keys attached to each, and
// — on the leader only — when each expires.
//
// Two kinds of state live here and must not be confused:
// - The replicated part (leases, TTLs, attached keys) changes only as committed entries apply, so
//   every member holds the same. grant/revoke/attach/detach are those changes.
// - Expiry deadlines are the leader's alone (the "primary" lessor). Followers keep none: a lease
//   expires when the leader proposes its revocation, so every member deletes the same keys at the
//   same revision. A new leader starts every lease afresh, its full TTL plus an extension, so no
//   lease expires because of a failover.
//
// No clock of its own: every call that needs the time takes `nowMs`.

import type { LeaseId } from './lease-id.js';

export class LeaseNotFoundError extends Error {
  readonly code = 'LEASE_NOT_FOUND';
  constructor(readonly leaseId: LeaseId) {
    super('etcdserver: requested lease not found');
    this.name = 'LeaseNotFoundError';
  }
}

export class LeaseExistsError extends Error {
  readonly code = 'LEASE_EXISTS';
  constructor(readonly leaseId: LeaseId) {
    super('etcdserver: lease already exists');
    this.name = 'LeaseExistsError';
  }
}

export class NotPrimaryError extends Error {
  readonly code = 'NOT_PRIMARY';
  constructor() {
    super('lease: only the leader renews leases');
    this.name = 'NotPrimaryError';
  }
}

export interface Lease {
  readonly id: LeaseId;
  /** The TTL granted, in seconds (raised to the minimum). */
  readonly ttlSeconds: number;
  /** On the primary: when the lease expires unless renewed. Elsewhere: Infinity. */
  expiryMs: number;
  /** On the primary, once its revocation was proposed: when to propose it again if still here. */
  revokeRetryAtMs: number;
  /** Attached keys, in the store's key-string form. */
  readonly keys: Set<string>;
}

/** etcd's largest TTL: 9,000,000,000 seconds. */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;

export class Lessor {
  private readonly leases = new Map<LeaseId, Lease>();
  private primary = false;

  constructor(
    /** etcd's minimum TTL: ceil(1.5 × election timeout) in seconds. */
    readonly minTtlSeconds: number,
  ) {}

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  /** The TTL a grant of `ttlSeconds` gets. */
  effectiveTtl(ttlSeconds: number): number {
    return Math.max(ttlSeconds, this.minTtlSeconds);
  }

  // ---- replicated changes (applied entries) -------------------------------------------------

  /** `ttlSeconds` as proposed: the proposer raised it (members may differ in their minimum). */
  grant(id: LeaseId, ttlSeconds: number, nowMs: number): Lease {
    if (this.leases.has(id)) throw new LeaseExistsError(id);
    const ttl = ttlSeconds;
    const lease: Lease = { id, ttlSeconds: ttl, expiryMs: this.primary ? nowMs + ttl * 1000 : Infinity, revokeRetryAtMs: 0, keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  /** Forgets the lease; returns its keys (which the caller deletes in the same revision). */
  revoke(id: LeaseId): string[] {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new LeaseNotFoundError(id);
    this.leases.delete(id);
    return [...lease.keys];
  }

  attach(id: LeaseId, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: LeaseId, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /** Forgets everything (before rebuilding from a snapshot). */
  clear(): void {
    this.leases.clear();
  }

  // ---- reads --------------------------------------------------------------------------------

  get(id: LeaseId): Lease | undefined {
    return this.leases.get(id);
  }

  has(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  ids(): LeaseId[] {
    return [...this.leases.keys()];
  }

  /** Whole seconds left (truncated, as etcd reports them) on the primary; the granted TTL elsewhere. */
  remainingSeconds(lease: Lease, nowMs: number): number {
    if (!this.primary) return lease.ttlSeconds;
    return Math.max(0, Math.floor((lease.expiryMs - nowMs) / 1000));
  }

  // ---- the primary's clock ------------------------------------------------------------------

  /** This member became leader: every lease starts afresh, `extendMs` beyond its full TTL. */
  promote(nowMs: number, extendMs: number): void {
    this.primary = true;
    for (const lease of this.leases.values()) {
      lease.expiryMs = nowMs + extendMs + lease.ttlSeconds * 1000;
      lease.revokeRetryAtMs = 0;
    }
  }

  demote(): void {
    this.primary = false;
    for (const lease of this.leases.values()) lease.expiryMs = Infinity;
  }

  /** A keep-alive: the lease lives its full TTL from now. Returns the TTL. */
  renew(id: LeaseId, nowMs: number): number {
    if (!this.primary) throw new NotPrimaryError();
    const lease = this.leases.get(id);
    // An expired lease waiting for its revocation to apply cannot be saved any more.
    if (lease === undefined || lease.expiryMs <= nowMs) throw new LeaseNotFoundError(id);
    lease.expiryMs = nowMs + lease.ttlSeconds * 1000;
    return lease.ttlSeconds;
  }

  /**
   * Up to `max` leases past their deadline, to revoke through Raft. One returned is not returned
   * again for `retryMs`, in case its revocation is lost; it can no longer be renewed.
   */
  expired(nowMs: number, max: number, retryMs: number): LeaseId[] {
    const found: LeaseId[] = [];
    if (!this.primary) return found;
    for (const lease of this.leases.values()) {
      if (found.length >= max) break;
      if (lease.expiryMs > nowMs || lease.revokeRetryAtMs > nowMs) continue;
      found.push(lease.id);
      lease.revokeRetryAtMs = nowMs + retryMs;
    }
    return found;
  }
}
