// The etcd v3 unary services: KV (Put, Range, DeleteRange, Txn, Compact), Cluster (membership) and
// Maintenance (Status, Alarm, Hash, HashKV, MoveLeader). Watch and Lease live in watch-stream.ts and lease-service.ts.
// Each handler checks its input, calls the member, and shapes the answer.

import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { TxnRequest } from '../server/requests.js';
import type { ClusterServer, KeyValue, KvServer, MaintenanceServer, MemberInfo, RangeResult, ResponseHeader, TxnOutcome } from '../server/servers.js';
import { toGrpcError } from './errors.js';
import { RangeResponseEncoder } from './range-encoding.js';

export const SERVER_VERSION = '3.5.0';

type Handler = (call: ServerUnaryCall<any, any>, callback: sendUnaryData<any>) => void;

/** Wraps an async handler: a thrown error becomes etcd's gRPC status; the member keeps serving. */
export function unary(handle: (request: any) => Promise<object>): Handler {
  return (call, callback) => {
    handle(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcError(error) as never, null),
    );
  };
}

export function header(h: ResponseHeader): object {
  return { cluster_id: h.clusterId, member_id: h.memberId, revision: h.revision, raft_term: h.raftTerm };
}

/** The Cluster service's headers carry no revision in etcd. */
function clusterHeader(h: ResponseHeader): object {
  return { cluster_id: h.clusterId, member_id: h.memberId, raft_term: h.raftTerm };
}

export function keyValue(kv: KeyValue, keysOnly = false): object {
  return {
    key: kv.key,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: keysOnly ? Buffer.alloc(0) : kv.value,
    lease: kv.lease,
  };
}

function rangeResponse(h: object, result: RangeResult, request: { count_only?: boolean; keys_only?: boolean }): object {
  const kvs = request.count_only ? [] : result.kvs.map((kv) => keyValue(kv, request.keys_only === true));
  return { header: h, kvs, more: result.more, count: result.count };
}

/**
 * Shapes a Txn's outcome as etcd's ResponseOp list (nested Txns included). As etcd 3.4 does, the
 * headers inside carry only the revision each operation saw, and a nested Txn's own header is
 * empty (its operations' headers have their revisions).
 */
function txnResponse(h: object, outcome: TxnOutcome, request: TxnRequest): object {
  const ops = (outcome.succeeded ? request.success : request.failure) ?? [];
  const responses = outcome.responses.map((response, i) => {
    const op = ops[i];
    const inner = { revision: response.revision };
    if ('range' in response) return { response_range: rangeResponse(inner, response.range, op?.request_range ?? {}) };
    if ('put' in response) return { response_put: { header: inner, ...(response.put.prevKv === undefined ? {} : { prev_kv: keyValue(response.put.prevKv) }) } };
    if ('deleteRange' in response) {
      return { response_delete_range: { header: inner, deleted: response.deleteRange.deleted, prev_kvs: response.deleteRange.prevKvs.map((kv) => keyValue(kv)) } };
    }
    return { response_txn: txnResponse({}, response.txn, op?.request_txn ?? {}) };
  });
  return { header: h, succeeded: outcome.succeeded, responses };
}

export function kvService(member: KvServer): UntypedServiceImplementation {
  return {
    Put: unary(async (request) => {
      const result = await member.put(request);
      return { header: header(result.header), ...(result.prevKv === undefined ? {} : { prev_kv: keyValue(result.prevKv) }) };
    }),
    // Encoded as the store hands the kvs over (range-encoding.ts); the serializer passes it through.
    Range: unary(async (request) => {
      const encoder = new RangeResponseEncoder();
      const result = await member.range(request, encoder);
      return encoder.finish(result.header, result.more, result.count);
    }),
    DeleteRange: unary(async (request) => {
      const result = await member.deleteRange(request);
      return { header: header(result.header), deleted: result.deleted, prev_kvs: result.prevKvs.map((kv) => keyValue(kv)) };
    }),
    Txn: unary(async (request) => {
      const result = await member.txn(request);
      return txnResponse(header(result.header), result, request);
    }),
    Compact: unary(async (request) => {
      const result = await member.compact(request);
      return { header: header(result.header) };
    }),
  };
}

function memberMessage(m: MemberInfo): object {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

export function clusterService(member: ClusterServer): UntypedServiceImplementation {
  return {
    MemberList: unary(async (request) => {
      if (request.linearizable) await member.linearizableBarrier();
      return { header: clusterHeader(member.header()), members: member.members().map(memberMessage) };
    }),
    MemberAdd: unary(async (request) => {
      const result = await member.addMember(request.peerURLs ?? [], request.isLearner === true);
      return { header: clusterHeader(result.header), member: memberMessage(result.member), members: result.members.map(memberMessage) };
    }),
    MemberRemove: unary(async (request) => {
      const result = await member.removeMember(Number(request.ID));
      return { header: clusterHeader(result.header), members: result.members.map(memberMessage) };
    }),
    MemberPromote: unary(async (request) => {
      const result = await member.promoteMember(Number(request.ID));
      return { header: clusterHeader(result.header), members: result.members.map(memberMessage) };
    }),
    MemberUpdate: unary(async (request) => {
      const result = await member.updateMember(Number(request.ID), request.peerURLs ?? []);
      return { header: clusterHeader(result.header), members: result.members.map(memberMessage) };
    }),
  };
}

export function maintenanceService(member: MaintenanceServer): UntypedServiceImplementation {
  return {
    Status: unary(async () => {
      const status = await member.status();
      return {
        header: header(member.header()),
        version: SERVER_VERSION,
        dbSize: status.dbSize,
        leader: status.leader,
        raftIndex: status.raftIndex,
        raftTerm: status.raftTerm,
        raftAppliedIndex: status.raftAppliedIndex,
        errors: member.alarmDescriptions(),
        dbSizeInUse: status.dbSize,
        isLearner: status.isLearner,
      };
    }),
    // etcd 3.4's Alarm answer has no header (its applier builds the answer and nothing fills one in).
    Alarm: unary(async (request) => {
      const result = await member.alarm(request);
      return { alarms: result.alarms.map((a) => ({ memberID: a.memberID, alarm: a.alarm })) };
    }),
    MoveLeader: unary(async (request) => {
      const result = await member.moveLeader(Number(request.targetID ?? 0));
      return { header: header(result.header) };
    }),
    // etcd's Hash covers its whole backend file, its own bookkeeping included, so it differs between
    // members and is "for testing only". raftkv's store has no such file: Hash is the hash of the
    // whole retained key history (HashKV at the current revision), equal on every member in step.
    Hash: unary(async () => {
      const result = await member.hashKV(0);
      return { header: header(result.header), hash: result.hash };
    }),
    HashKV: unary(async (request) => {
      const result = await member.hashKV(Number(request.revision ?? 0));
      return { header: header(result.header), hash: result.hash, compact_revision: result.compactRevision, hash_revision: result.hashRevision };
    }),
  };
}
