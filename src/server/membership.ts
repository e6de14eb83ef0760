// Who is in the cluster as clients see it (Cluster.MemberList): ids, names, peer and client URLs.
// Raft's own configuration says who votes; this says how to reach them. Kept in the key-value
// store's metadata so it survives restarts with the applied state it belongs to.

import type { KvStore } from '../mvcc/store.js';
import type { InitialMember } from './identity.js';

export interface MemberInfo {
  readonly id: number;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

const META_NAME = 'members';

export class Membership {
  private readonly members = new Map<number, MemberInfo>();
  private readonly store: KvStore;

  private constructor(store: KvStore) {
    this.store = store;
  }

  /** Loads the registry, seeding it from --initial-cluster when the store has none yet. */
  static async load(store: KvStore, initial: readonly InitialMember[]): Promise<Membership> {
    const membership = new Membership(store);
    const saved = store.getMeta(META_NAME);
    const members: MemberInfo[] =
      saved === undefined
        ? initial.map((member) => ({ id: member.id, name: '', peerUrls: member.peerUrls, clientUrls: [], isLearner: false }))
        : (JSON.parse(saved.toString('utf8')) as MemberInfo[]);
    for (const member of members) membership.members.set(member.id, member);
    return membership;
  }

  /** Re-reads the registry from the store (after a snapshot replaced the store's contents). */
  reload(): void {
    const saved = this.store.getMeta(META_NAME);
    if (saved === undefined) return;
    this.members.clear();
    for (const member of JSON.parse(saved.toString('utf8')) as MemberInfo[]) this.members.set(member.id, member);
  }

  list(): MemberInfo[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): MemberInfo | undefined {
    return this.members.get(id);
  }

  setAttributes(id: number, name: string, clientUrls: readonly string[]): void {
    const member = this.members.get(id);
    if (member === undefined) return;
    this.members.set(id, { ...member, name, clientUrls: [...clientUrls] });
    this.save();
  }

  private save(): void {
    // Membership changes are rare and tiny: JSON keeps the record readable in a debugger.
    this.store.setMeta(META_NAME, Buffer.from(JSON.stringify(this.list()), 'utf8'));
  }
}
