// The member's side of leases: applying grants and revocations, keeping each lease's attached keys
// in step with the store, and persisting the leases in the store's metadata (so they survive a
// restart and travel in snapshots).
//
// Which keys a lease holds is derived from the store: every change the store reports moves a key
// from its previous lease to its new one (StoreObserver), and after a restart or a snapshot the
// whole mapping is rebuilt from the live keys. Only grants and revocations are written here.

import { LEASE_ID_MAX, LEASE_ID_MIN, NO_LEASE, type LeaseId } from '../lease/lease-id.js';
import { LeaseNotFoundError, Lessor } from '../lease/lessor.js';
import { keyToString, stringToKey } from '../mvcc/codec.js';
import type { Event, MvccStore, StoreObserver, WriteTxn } from '../mvcc/mvcc-store.js';

const LEASE_META_PREFIX = 'lease/';
const EMPTY = new Uint8Array(0);

export class MemberLeases implements StoreObserver {
  constructor(
    private readonly store: MvccStore,
    readonly lessor: Lessor,
    private readonly now: () => number,
  ) {
    this.reload();
    store.observe(this);
  }

  /** Rebuilds the leases from the store: its lease records and the lease of every live key. */
  private reload(): void {
    this.lessor.clear();
    for (const name of this.store.metaNames(LEASE_META_PREFIX)) {
      const id = leaseIdOfRecordName(name);
      const record = this.store.getMeta(name);
      if (record !== undefined && id !== undefined) this.lessor.grant(id, record.readDoubleBE(0), this.now());
    }
    // keys_only: the store reads no value (each would be a database read at open).
    const { kvs } = this.store.range(EMPTY, Uint8Array.of(0), { keysOnly: true });
    for (const kv of kvs) if (kv.lease !== NO_LEASE) this.lessor.attach(kv.lease, keyToString(kv.key));
  }

  /**
   * A committed grant: the proposer chose the ID and the TTL. Throws LeaseExistsError, and
   * LeaseNotFoundError for ID 0, which means "no lease" on every key (the proposer never picks it).
   */
  grant(id: LeaseId, ttlSeconds: number): void {
    if (id === NO_LEASE) throw new LeaseNotFoundError(id);
    this.lessor.grant(id, ttlSeconds, this.now());
    const record = Buffer.alloc(8);
    record.writeDoubleBE(ttlSeconds, 0);
    this.store.setMeta(LEASE_META_PREFIX + String(id), record);
  }

  /** A committed revocation: deletes the lease's keys inside `txn` (one revision), then the lease. */
  revoke(txn: WriteTxn, id: LeaseId): void {
    const lease = this.lessor.get(id);
    if (lease === undefined) throw new LeaseNotFoundError(id);
    for (const key of [...lease.keys].sort()) txn.deleteRange(stringToKey(key), EMPTY);
  }

  /** After the revoking transaction ended (its deletes have detached the keys). */
  forget(id: LeaseId): void {
    this.lessor.revoke(id);
    this.store.deleteMeta(LEASE_META_PREFIX + String(id));
  }

  // ---- StoreObserver ------------------------------------------------------------------------

  changed(_revision: number, events: readonly Event[]): void {
    for (const event of events) {
      const previousLease = event.prevKv?.lease ?? NO_LEASE;
      const lease = event.type === 'put' ? event.kv.lease : NO_LEASE;
      if (previousLease === NO_LEASE && lease === NO_LEASE) continue;
      const name = keyToString(event.kv.key);
      if (previousLease !== NO_LEASE) this.lessor.detach(previousLease, name);
      if (lease !== NO_LEASE) this.lessor.attach(lease, name);
    }
  }

  compacted(): void {}

  restored(): void {
    const wasPrimary = this.lessor.isPrimary;
    this.reload();
    // The leader itself never installs a snapshot; a follower's leases have no deadlines.
    if (wasPrimary) this.lessor.promote(this.now(), 0);
  }
}

/**
 * The ID in a lease record's name: 'lease/' and the ID in decimal, as String(id) writes it (and as
 * earlier versions wrote their JS-number IDs, all integers below 2^53, so old records read the same).
 */
function leaseIdOfRecordName(name: string): LeaseId | undefined {
  const digits = name.slice(LEASE_META_PREFIX.length);
  if (!/^-?\d{1,19}$/.test(digits)) return undefined;
  const id = BigInt(digits);
  return id >= LEASE_ID_MIN && id <= LEASE_ID_MAX && id !== NO_LEASE ? id : undefined;
}
