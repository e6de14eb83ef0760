// Stable member and cluster ids, derived the way etcd derives them (SHA-1 over the sorted peer URLs
// and the cluster token; the cluster id over the sorted member ids), then narrowed to 53 bits so
// they travel as plain JavaScript numbers. Every such id is still a valid etcd uint64 id.

import { createHash } from 'node:crypto';
import type { ClusterMemberSpec } from './config.js';

const ID_MASK = 2n ** 53n - 1n;

function idFromDigest(digest: Buffer): number {
  const id = Number(digest.readBigUInt64BE(0) & ID_MASK);
  return id === 0 ? 1 : id;
}

export function memberIdFor(peerUrls: readonly string[], clusterToken: string): number {
  const hash = createHash('sha1');
  hash.update([...peerUrls].sort().join(''));
  hash.update(clusterToken);
  return idFromDigest(hash.digest());
}

export function clusterIdFor(memberIds: readonly number[]): number {
  const hash = createHash('sha1');
  const bytes = Buffer.alloc(8);
  for (const id of [...memberIds].sort((a, b) => a - b)) {
    bytes.writeBigUInt64BE(BigInt(id));
    hash.update(bytes);
  }
  return idFromDigest(hash.digest());
}

export interface InitialMember extends ClusterMemberSpec {
  readonly id: number;
}

/** Ids for every member named by --initial-cluster, and the cluster's id. */
export function initialMembership(members: readonly ClusterMemberSpec[], clusterToken: string): { clusterId: number; members: InitialMember[] } {
  const withIds = members.map((member) => ({ ...member, id: memberIdFor(member.peerUrls, clusterToken) }));
  const ids = new Set(withIds.map((member) => member.id));
  if (ids.size !== withIds.length) throw new Error('two members of --initial-cluster share the same peer URLs');
  return { clusterId: clusterIdFor(withIds.map((member) => member.id)), members: withIds };
}

/** etcd prints ids as 16 hex digits. */
export function formatId(id: number): string {
  return id.toString(16).padStart(16, '0');
}
