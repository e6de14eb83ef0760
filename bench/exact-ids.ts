// etcd's member ids are random 64-bit numbers: as the JS numbers our protos give (longs as Number)
// they lose their low bits, and MoveLeader with such an id names no member. So Status answers are
// also read for their ids exactly, as decimal strings, straight from the wire.

import { makeClientConstructor, type ServiceClientConstructor } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { services } from '../src/api/protos.js';

export interface ExactStatusIds {
  /** header.member_id: the answering member. */
  memberId: string;
  /** leader: 0 while the member knows of none. */
  leaderId: string;
}

const WIRE_TYPE_VARINT = 0;
const STATUS_HEADER_FIELD = 1;
const STATUS_LEADER_FIELD = 4;
const HEADER_MEMBER_ID_FIELD = 2;

export function readStatusIds(buffer: Uint8Array): ExactStatusIds {
  const ids: ExactStatusIds = { memberId: '0', leaderId: '0' };
  const reader = protobuf.Reader.create(buffer);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === STATUS_LEADER_FIELD && (tag & 7) === WIRE_TYPE_VARINT) {
      ids.leaderId = reader.uint64().toString();
    } else if (field === STATUS_HEADER_FIELD) {
      const end = reader.uint32() + reader.pos;
      while (reader.pos < end) {
        const headerTag = reader.uint32();
        if (headerTag >>> 3 === HEADER_MEMBER_ID_FIELD && (headerTag & 7) === WIRE_TYPE_VARINT) ids.memberId = reader.uint64().toString();
        else reader.skipType(headerTag & 7);
      }
    } else {
      reader.skipType(tag & 7);
    }
  }
  return ids;
}

const MEMBER_ADD_MEMBER_FIELD = 2;
const MEMBER_ID_FIELD = 1;

/** The new member's id in a MemberAddResponse (field 2, a Member whose field 1 is the id), exactly, as a decimal string. */
export function readAddedMemberId(buffer: Uint8Array): string {
  const reader = protobuf.Reader.create(buffer);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 !== MEMBER_ADD_MEMBER_FIELD) {
      reader.skipType(tag & 7);
      continue;
    }
    const end = reader.uint32() + reader.pos;
    while (reader.pos < end) {
      const memberTag = reader.uint32();
      if (memberTag >>> 3 === MEMBER_ID_FIELD && (memberTag & 7) === WIRE_TYPE_VARINT) return reader.uint64().toString();
      reader.skipType(memberTag & 7);
    }
  }
  return '0';
}

/** Our protos' Cluster service, whose MemberAdd answers also carry `addedMemberId`, the new member's id exactly. */
export const ClusterWithExactIds: ServiceClientConstructor = (() => {
  const definition = services.Cluster.service;
  const add = definition.MemberAdd;
  return makeClientConstructor({
    ...definition,
    MemberAdd: { ...add, responseDeserialize: (buffer: Buffer) => ({ ...(add.responseDeserialize(buffer) as object), addedMemberId: readAddedMemberId(buffer) }) },
  }, 'Cluster');
})();

/** Our protos' Maintenance service, whose Status answers carry `memberId` and `leaderId` exactly besides the usual fields. */
export const MaintenanceWithExactIds: ServiceClientConstructor = (() => {
  const definition = services.Maintenance.service;
  const status = definition.Status;
  return makeClientConstructor({
    ...definition,
    Status: { ...status, responseDeserialize: (buffer: Buffer) => ({ ...(status.responseDeserialize(buffer) as object), ...readStatusIds(buffer) }) },
  }, 'Maintenance');
})();
