// The member's side of leases: applying grants and revocations, keeping each lease's attached keys
// in step with the store, and persisting the leases in the store's metadata (so they survive a
// restart and travel in snapshots).
//
// Which keys a lease holds is derived from the store: every change the store reports moves a key
// from its previous lease to its new one (StoreObserver), and after a restart or a snapshot the
// whole mapping is rebuilt from the live keys. Only grants and revocations are written here.

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
      const id = Number(name.slice(LEASE_META_PREFIX.length));
      const record = this.store.getMeta(name);
      if (record !== undefined && Number.isSafeInteger(id)) this.lessor.grant(id, record.readDoubleBE(0), this.now());
    }
    const { kvs } = this.store.range(EMPTY, Uint8Array.of(0));
    for (const kv of kvs) if (kv.lease !== 0) this.lessor.attach(kv.lease, keyToString(kv.key));
  }

  /** A committed grant: the proposer chose the ID and the TTL. Throws LeaseExistsError. */
  grant(id: number, ttlSeconds: number): void {
    this.lessor.grant(id, ttlSeconds, this.now());
    const record = Buffer.alloc(8);
    record.writeDoubleBE(ttlSeconds, 0);
    this.store.setMeta(LEASE_META_PREFIX + String(id), record);
  }

  /** A committed revocation: deletes the lease's keys inside `txn` (one revision), then the lease. */
  revoke(txn: WriteTxn, id: number): void {
    const lease = this.lessor.get(id);
    if (lease === undefined) throw new LeaseNotFoundError(id);
    for (const key of [...lease.keys].sort()) txn.deleteRange(stringToKey(key), EMPTY);
  }

  /** After the revoking transaction ended (its deletes have detached the keys). */
  forget(id: number): void {
    this.lessor.revoke(id);
    this.store.deleteMeta(LEASE_META_PREFIX + String(id));
  }

  // ---- StoreObserver ------------------------------------------------------------------------

  changed(_revision: number, events: readonly Event[]): void {
    for (const event of events) {
      const previousLease = event.prevKv?.lease ?? 0;
      const lease = event.type === 'put' ? event.kv.lease : 0;
      if (previousLease === 0 && lease === 0) continue;
      const name = keyToString(event.kv.key);
      if (previousLease !== 0) this.lessor.detach(previousLease, name);
      if (lease !== 0) this.lessor.attach(lease, name);
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
