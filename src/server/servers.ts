// What the API room may ask of a member: one small interface per etcd service, and the types
// their answers carry. The API depends on these, never on RaftMember or on the rooms below.

import type { Event, KeyValue, RangeResult } from '../mvcc/mvcc-store.js';
import type { RangeSink } from '../mvcc/range-sink.js';
import type { WatchHub, WatchOptions, Watcher, WatchReceiver } from '../mvcc/watch-hub.js';
import type { LeaseId } from '../lease/lease-id.js';
import type { AlarmMember } from './alarms.js';
import type { DeleteRangeOutcome, TxnOutcome } from './apply.js';
import type { MemberInfo } from './membership.js';
import type { AlarmRequest, CompactionRequest, DeleteRangeRequest, LeaseTimeToLive, PutRequest, RangeRequest, TxnRequest } from './requests.js';

/** Wire values (number, string, Long) to a lease ID, for the API's decoding. */
export { toLeaseId } from '../lease/lease-id.js';
export type { AlarmMember, DeleteRangeOutcome, Event, KeyValue, LeaseId, LeaseTimeToLive, MemberInfo, RangeResult, RangeSink, TxnOutcome, Watcher, WatchReceiver };

export interface ResponseHeader {
  readonly clusterId: number;
  readonly memberId: number;
  readonly revision: number;
  readonly raftTerm: number;
}

/** Every service's answers carry this member's header. */
export interface HeaderSource {
  /** The header at `revision`, the store's current one by default. */
  header(revision?: number): ResponseHeader;
}

export interface KvServer extends HeaderSource {
  put(request: PutRequest): Promise<{ header: ResponseHeader; prevKv?: KeyValue }>;
  /** With a `sink`, the kvs go to it one at a time and the result's kvs is empty. */
  range(request: RangeRequest, sink?: RangeSink): Promise<RangeResult & { header: ResponseHeader }>;
  deleteRange(request: DeleteRangeRequest): Promise<{ header: ResponseHeader } & DeleteRangeOutcome>;
  txn(request: TxnRequest): Promise<{ header: ResponseHeader } & TxnOutcome>;
  compact(request: CompactionRequest): Promise<{ header: ResponseHeader }>;
}

export interface LeaseServer extends HeaderSource {
  leaseGrant(ttlSeconds: number, requestedId: LeaseId): Promise<{ header: ResponseHeader; id: LeaseId; ttlSeconds: number }>;
  leaseRevoke(id: LeaseId): Promise<{ header: ResponseHeader }>;
  leaseRenew(id: LeaseId): Promise<{ header: ResponseHeader; ttlSeconds: number }>;
  leaseTimeToLive(id: LeaseId, keys: boolean): Promise<{ header: ResponseHeader } & LeaseTimeToLive>;
  leaseIds(): LeaseId[];
}

export interface ClusterServer extends HeaderSource {
  /** Resolves once this member has applied everything committed before the call. */
  linearizableBarrier(): Promise<void>;
  members(): MemberInfo[];
  addMember(peerUrls: readonly string[], isLearner: boolean): Promise<{ header: ResponseHeader; member: MemberInfo; members: MemberInfo[] }>;
  removeMember(id: number): Promise<{ header: ResponseHeader; members: MemberInfo[] }>;
  promoteMember(id: number): Promise<{ header: ResponseHeader; members: MemberInfo[] }>;
  updateMember(id: number, peerUrls: readonly string[]): Promise<{ header: ResponseHeader; members: MemberInfo[] }>;
}

export interface MemberStatus {
  readonly leader: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly isLearner: boolean;
  readonly revision: number;
  readonly dbSize: number;
}

export interface MaintenanceServer extends HeaderSource {
  status(): Promise<MemberStatus>;
  alarm(request: AlarmRequest): Promise<{ header: ResponseHeader; alarms: AlarmMember[] }>;
  alarmDescriptions(): string[];
  moveLeader(targetId: number): Promise<{ header: ResponseHeader }>;
  hashKV(revision: number): Promise<{ header: ResponseHeader; hash: number; compactRevision: number; hashRevision: number }>;
}

export interface WatchServer extends HeaderSource {
  watch(options: WatchOptions, receiver: WatchReceiver): Watcher;
  /** Sends `watcher` what it has not seen yet, as far as its receiver takes it. */
  catchUpOne(watcher: Watcher): void;
  cancel(watcher: Watcher): void;
}

/** Everything the client API serves, from one member. */
export interface MemberServers {
  readonly kv: KvServer;
  readonly lease: LeaseServer;
  readonly cluster: ClusterServer;
  readonly maintenance: MaintenanceServer;
  readonly watch: WatchServer;
  /** True while this member knows of a leader (the API's "require leader" check). */
  hasLeader(): boolean;
  /** Calls `listener` on every leader change of this member; returns how to stop. */
  onLeaderChange(listener: () => void): () => void;
  readonly electionTimeoutMs: number;
  readonly watchProgressNotifyIntervalMs: number;
}

/** The Watch service's view of a member's watch hub. */
export function watchServerOf(hub: WatchHub, header: (revision?: number) => ResponseHeader): WatchServer {
  return {
    header,
    watch: (options, receiver) => hub.watch(options, receiver),
    catchUpOne: (watcher) => hub.catchUpOne(watcher),
    cancel: (watcher) => hub.cancel(watcher),
  };
}
