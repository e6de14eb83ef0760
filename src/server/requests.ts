// The protobuf form of what members propose through Raft (proto/raftkvpb/internal.proto).

import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT } from '../raftpb/proto-root.js';

export { PROTO_ROOT };

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
root.loadSync('raftkvpb/internal.proto', { keepCase: true });
const InternalRequestProto = root.lookupType('raftkvpb.InternalRequest');
const MemberContextProto = root.lookupType('raftkvpb.MemberContext');

const TO_OBJECT = { longs: Number, bytes: Buffer, defaults: false, arrays: true } as const;

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: number;
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
  publish?: MemberAttributes;
}

export function encodeInternalRequest(request: InternalRequest): Uint8Array {
  return InternalRequestProto.encode(InternalRequestProto.fromObject(request)).finish();
}

export function decodeInternalRequest(bytes: Uint8Array): InternalRequest {
  return InternalRequestProto.toObject(InternalRequestProto.decode(bytes), TO_OBJECT) as InternalRequest;
}

export interface MemberContext {
  id: number;
  name?: string;
  peer_urls?: string[];
  is_learner?: boolean;
  proposer_id?: number;
  request_id?: number;
}

export function encodeMemberContext(context: MemberContext): Uint8Array {
  return MemberContextProto.encode(MemberContextProto.fromObject(context)).finish();
}

export function decodeMemberContext(bytes: Uint8Array): MemberContext {
  return MemberContextProto.toObject(MemberContextProto.decode(bytes), TO_OBJECT) as MemberContext;
}
