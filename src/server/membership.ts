// Who is in the cluster as clients see it (Cluster.MemberList): ids, names, peer and client URLs.
// Raft's own configuration says who votes; this says how to reach them. Kept in the key-value
// store's metadata so it survives restarts with the applied state it belongs to.

import type { MvccStore } from '../mvcc/mvcc-store.js';
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
  private readonly store: MvccStore;

  private constructor(store: MvccStore) {
    this.store = store;
  }

  /** Loads the registry, seeding it from --initial-cluster when the store has none yet. */
  static async load(store: MvccStore, initial: readonly InitialMember[]): Promise<Membership> {
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

  /**
   * Makes the registry agree with Raft's configuration after a change: members that left are
   * dropped, new ones are added from the change's context, roles follow the configuration.
   */
  sync(confState: { voters: readonly number[]; learners: readonly number[] }, joining: { id: number; peerUrls: readonly string[] } | null): void {
    const roles = new Map<number, boolean>();
    for (const id of confState.voters) roles.set(id, false);
    for (const id of confState.learners) roles.set(id, true);
    for (const id of [...this.members.keys()]) if (!roles.has(id)) this.members.delete(id);
    for (const [id, isLearner] of roles) {
      const existing = this.members.get(id);
      if (existing !== undefined) this.members.set(id, { ...existing, isLearner });
      else if (joining !== null && joining.id === id) this.members.set(id, { id, name: '', peerUrls: [...joining.peerUrls], clientUrls: [], isLearner });
    }
    this.save();
  }

  updatePeerUrls(id: number, peerUrls: readonly string[]): void {
    const member = this.members.get(id);
    if (member === undefined) return;
    this.members.set(id, { ...member, peerUrls: [...peerUrls] });
    this.save();
  }

  /** The member already using one of these peer URLs, if any. */
  findByPeerUrl(peerUrls: readonly string[]): MemberInfo | undefined {
    return this.list().find((member) => member.peerUrls.some((url) => peerUrls.includes(url)));
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
