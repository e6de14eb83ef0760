// WatchRequest's oneof as grpc-go reads it. etcd's decoder keeps the member of `request_union`
// that comes last on the wire, so a request carrying create_request then cancel_request is a
// cancel. proto-loader's decoder keeps every member it saw, and its object form names the member
// by declaration order, not wire order; so the Watch service's request deserializer is wrapped to
// drop every member but the last one on the wire.

import type { ServiceDefinition } from '@grpc/grpc-js';

type Deserialize = (bytes: Buffer) => any;

/** WatchRequest's oneof members by field number (proto/etcdserverpb/rpc.proto). */
const UNION_MEMBERS: ReadonlyMap<number, string> = new Map([
  [1, 'create_request'],
  [2, 'cancel_request'],
  [3, 'progress_request'],
]);

const wrapped = new WeakSet<object>();

/** Makes the Watch service's request deserializer keep only the oneof member last on the wire (once). */
export function lastUnionMemberWins(service: ServiceDefinition): void {
  const method = service.Watch as unknown as { requestDeserialize: Deserialize };
  if (wrapped.has(method)) return;
  const plain = method.requestDeserialize;
  method.requestDeserialize = (bytes: Buffer) => {
    const request = plain(bytes);
    const last = lastUnionField(bytes);
    if (request !== null && typeof request === 'object' && last !== null) {
      for (const name of UNION_MEMBERS.values()) if (name !== last) delete request[name];
    }
    return request;
  };
  wrapped.add(method);
}

/**
 * The name of the last top-level WatchRequest field on the wire that belongs to the oneof, or null
 * when none does (or the bytes do not parse: the decoder has already judged them).
 */
export function lastUnionField(bytes: Uint8Array): string | null {
  let last: string | null = null;
  let offset = 0;
  const varint = (): number | null => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (offset >= bytes.length) return null;
      const byte = bytes[offset++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return null;
  };
  while (offset < bytes.length) {
    const tag = varint();
    if (tag === null) return last;
    const fieldNumber = Math.floor(tag / 8);
    switch (tag % 8) {
      case 0:
        if (varint() === null) return last;
        break;
      case 1:
        offset += 8;
        break;
      case 2: {
        const length = varint();
        if (length === null) return last;
        offset += length;
        break;
      }
      case 5:
        offset += 4;
        break;
      default:
        return last;
    }
    if (offset > bytes.length) return last;
    last = UNION_MEMBERS.get(fieldNumber) ?? last;
  }
  return last;
}
