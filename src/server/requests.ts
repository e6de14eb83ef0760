// The protobuf form of what members propose through Raft (proto/raftkvpb/internal.proto).

import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT } from '../grpc/proto-root.js';
import { leaseIdFromBits, type LeaseId, type LongBits } from '../lease/lease-id.js';
import { TXN_OPS_MAX } from './validate.js';

/**
 * How deep messages may nest, for protobufjs here and for proto-loader's copy (src/api): a Txn
 * that etcd accepts nests up to TXN_OPS_MAX + 1 TxnRequests, each but the last inside a RequestOp,
 * wrapped in an InternalRequest or ForwardRequest, with a few levels under the innermost op; its
 * TxnResponse nests as deep. protobufjs's default of 100 refused a Txn 50 deep, which etcd serves.
 * A bound still, so a hostile message cannot run the stack out.
 */
export const MESSAGE_NESTING_MAX = 2 * (TXN_OPS_MAX + 1) + 16;

/** Sets protobufjs's nesting bound (encode, decode and object conversion) to MESSAGE_NESTING_MAX. */
export function allowEtcdNesting(library: { util: { recursionLimit: number }; Reader: { recursionLimit: number } }): void {
  library.util.recursionLimit = MESSAGE_NESTING_MAX;
  library.Reader.recursionLimit = MESSAGE_NESTING_MAX;
}

allowEtcdNesting(protobuf as unknown as Parameters<typeof allowEtcdNesting>[0]);

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
root.loadSync('raftkvpb/internal.proto', { keepCase: true });

const TO_OBJECT = { longs: Number, bytes: Buffer, defaults: false, arrays: true } as const;

/**
 * Encoder and decoder of one message type, with the conversions every caller relies on: int64s as
 * numbers (revisions, counts: all below 2^53), except lease IDs, which are any int64 and come out
 * as exact bigints. toObject turns every int64 into a number, so `exactLeases` then puts each lease
 * field back from the decoded message's Long. (fromObject already encodes a bigint exactly.)
 */
function codec<T extends object>(
  name: string,
  exactLeases: (decoded: any, object: any) => void,
): { encode(value: T): Uint8Array; decode(bytes: Uint8Array): T } {
  const type = root.lookupType(name);
  return {
    encode: (value) => type.encode(type.fromObject(value as Record<string, unknown>)).finish(),
    decode: (bytes) => {
      const decoded = type.decode(bytes);
      const object = type.toObject(decoded, TO_OBJECT);
      exactLeases(decoded, object);
      return object as T;
    },
  };
}

// Each of these walks only the fields that hold a lease ID; toObject (defaults: false) leaves out
// a field absent on the wire, and so do these.

/** A field decoded as an int64: a Long (or a number, were protobufjs without Long). */
function exactLeaseId(value: LongBits | number): LeaseId {
  return typeof value === 'number' ? BigInt(value) : leaseIdFromBits(value);
}

function exactIdField(decoded: any, object: any): void {
  if (object?.ID !== undefined) object.ID = exactLeaseId(decoded.ID);
}

function exactPutLease(decoded: any, object: any): void {
  if (object?.lease !== undefined) object.lease = exactLeaseId(decoded.lease);
}

function exactTxnLeases(decoded: any, object: any): void {
  if (object === undefined) return;
  const compares = object.compare as Compare[] | undefined;
  if (compares !== undefined) {
    for (let i = 0; i < compares.length; i++) if (compares[i].lease !== undefined) compares[i].lease = exactLeaseId(decoded.compare[i].lease);
  }
  for (const branch of ['success', 'failure'] as const) {
    const ops = object[branch] as RequestOp[] | undefined;
    if (ops === undefined) continue;
    for (let i = 0; i < ops.length; i++) {
      exactPutLease(decoded[branch][i].request_put, ops[i].request_put);
      exactTxnLeases(decoded[branch][i].request_txn, ops[i].request_txn ?? undefined);
    }
  }
}

function exactInternalRequestLeases(decoded: any, object: any): void {
  exactPutLease(decoded.put, object.put);
  exactTxnLeases(decoded.txn, object.txn);
  exactIdField(decoded.lease_grant, object.lease_grant);
  exactIdField(decoded.lease_revoke, object.lease_revoke);
}

function exactForwardLeases(decoded: any, object: any): void {
  exactIdField(decoded.lease_renew, object.lease_renew);
  exactIdField(decoded.lease_time_to_live, object.lease_time_to_live);
}

export interface RangeRequest {
  key: Uint8Array;
  range_end?: Uint8Array;
  limit?: number;
  revision?: number;
  sort_order?: number;
  sort_target?: number;
  serializable?: boolean;
  keys_only?: boolean;
  count_only?: boolean;
  min_mod_revision?: number;
  max_mod_revision?: number;
  min_create_revision?: number;
  max_create_revision?: number;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  range_end?: Uint8Array;
  prev_kv?: boolean;
}

export interface Compare {
  result?: number;
  target?: number;
  key: Uint8Array;
  version?: number;
  create_revision?: number;
  mod_revision?: number;
  value?: Uint8Array;
  lease?: LeaseId;
  range_end?: Uint8Array;
}

export interface RequestOp {
  request_range?: RangeRequest | null;
  request_put?: PutRequest | null;
  request_delete_range?: DeleteRangeRequest | null;
  request_txn?: TxnRequest | null;
}

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface CompactionRequest {
  revision: number;
  physical?: boolean;
}

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: LeaseId;
  prev_kv?: boolean;
  ignore_value?: boolean;
  ignore_lease?: boolean;
}

export interface MemberAttributes {
  member_id: number;
  name: string;
  client_urls: string[];
}

export interface InternalRequest {
  member_id: number;
  request_id: number;
  put?: PutRequest;
  delete_range?: DeleteRangeRequest;
  txn?: TxnRequest;
  compaction?: CompactionRequest;
  publish?: MemberAttributes;
  alarm?: AlarmRequest;
  lease_grant?: LeaseGrantRequest;
  lease_revoke?: { ID: LeaseId };
}

export interface LeaseGrantRequest {
  TTL: number;
  ID: LeaseId;
}

/** What a member asks the leader over the peer transport (see internal.proto). */
export interface ForwardRequest {
  lease_renew?: { ID: LeaseId };
  lease_time_to_live?: { ID: LeaseId; keys?: boolean };
}

export interface LeaseTimeToLive {
  ID: LeaseId;
  TTL: number;
  grantedTTL?: number;
  keys?: Uint8Array[];
}

export interface ForwardResponse {
  lease_renew?: { ID: LeaseId; TTL?: number };
  lease_time_to_live?: LeaseTimeToLive;
  error_code?: string;
  error_message?: string;
}





export interface AlarmRequest {
  /** 0 GET, 1 ACTIVATE, 2 DEACTIVATE. */
  action?: number;
  memberID?: number;
  /** 0 NONE, 1 NOSPACE, 2 CORRUPT. */
  alarm?: number;
}



export interface MemberContext {
  id: number;
  name?: string;
  peer_urls?: string[];
  is_learner?: boolean;
  proposer_id?: number;
  request_id?: number;
}

const forwardRequestCodec = codec<ForwardRequest>('raftkvpb.ForwardRequest', exactForwardLeases);
export const encodeForwardRequest = forwardRequestCodec.encode;
export const decodeForwardRequest = forwardRequestCodec.decode;

const forwardResponseCodec = codec<ForwardResponse>('raftkvpb.ForwardResponse', exactForwardLeases);
export const encodeForwardResponse = forwardResponseCodec.encode;
export const decodeForwardResponse = forwardResponseCodec.decode;

const internalRequestCodec = codec<InternalRequest>('raftkvpb.InternalRequest', exactInternalRequestLeases);
export const encodeInternalRequest = internalRequestCodec.encode;
export const decodeInternalRequest = internalRequestCodec.decode;

const memberContextCodec = codec<MemberContext>('raftkvpb.MemberContext', () => {});
export const encodeMemberContext = memberContextCodec.encode;
export const decodeMemberContext = memberContextCodec.decode;
