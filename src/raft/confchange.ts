// A single-member configuration change and its byte encoding inside a ConfChange log entry.

import { assert } from './errors.js';

export const ConfChangeType = {
  /** Add a voter, or promote an existing learner to voter. */
  AddNode: 0,
  RemoveNode: 1,
  /** Changes only the application's view of a member (its URLs); the core ignores it. */
  UpdateNode: 2,
  AddLearnerNode: 3,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: number;
  /** Opaque to the core; the application keeps member details (name, URLs) here. */
  readonly context: Uint8Array;
}

const HEADER_BYTES = 1 + 8;

export function encodeConfChange(change: ConfChange): Uint8Array {
  assert(Number.isSafeInteger(change.nodeId) && change.nodeId > 0, `bad conf change node id ${change.nodeId}`);
  const bytes = new Uint8Array(HEADER_BYTES + change.context.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, change.type);
  view.setBigUint64(1, BigInt(change.nodeId));
  bytes.set(change.context, HEADER_BYTES);
  return bytes;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  assert(bytes.byteLength >= HEADER_BYTES, 'conf change entry too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint8(0);
  assert(type <= ConfChangeType.AddLearnerNode, `unknown conf change type ${type}`);
  return {
    type: type as ConfChangeType,
    nodeId: Number(view.getBigUint64(1)),
    context: bytes.slice(HEADER_BYTES),
  };
}
