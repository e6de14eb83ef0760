// Plausible request messages as trees of wire fields, built from the proto schema with a seeded
// PRNG; the generator then breaks them in one chosen way before encoding.

import { Random } from '../fault/random.js';
import type { FieldInfo, MessageInfo } from './schema.js';
import { paddedVarint, varint, WireType } from './wire.js';

/** Keys no well-formed case writes: they sort below every prefix of FUZZ_PREFIX. */
export const GUARD_PREFIX = 'Guard/';
export const GUARD_KEY_COUNT = 8;
export const guardKey = (i: number): string => `${GUARD_PREFIX}${i}`;
/** Every key a well-formed write touches, and every range such a write starts at, is >= this. */
export const FUZZ_PREFIX = 'fz/';
export const PRELOADED_KEY_COUNT = 10;
export const fuzzKey = (i: number): string => `${FUZZ_PREFIX}k${i}`;

export const INT_KINDS = new Set(['int64', 'uint64', 'int32', 'uint32', 'enum']);

export const EXTREME_INTS: readonly bigint[] = [
  0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n,
  2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n, 2n ** 32n + 1n, 2n ** 64n - 1n, 9_000_000_001n,
];

export interface FieldNode {
  readonly field: number;
  readonly name: string;
  readonly kind: FieldInfo['kind'];
  readonly repeated: boolean;
  varint?: bigint;
  bytes?: Buffer;
  message?: FieldNode[];
  /** Deliberate damage, applied by encode. */
  wireTypeOverride?: number;
  tagWidthBytes?: number;
  lengthWidthBytes?: number;
  valueWidthBytes?: number;
  declaredLength?: bigint;
}

export type KeyTarget = 'fuzz' | 'guard';

export interface BuildOptions {
  readonly random: Random;
  readonly keyTarget: KeyTarget;
  /** How deep Txns may nest inside the message. */
  readonly maxDepth: number;
  /** Every field present, so any may be chosen for damage. */
  readonly allFields: boolean;
  /** Member ids for the Cluster requests of this target, when known. */
  readonly memberIds?: readonly bigint[];
  readonly memberAddAsLearner?: boolean;
}

const WRITE_MESSAGES = new Set(['PutRequest', 'DeleteRangeRequest']);

function writeKey(options: BuildOptions): Buffer {
  const { random } = options;
  return Buffer.from(options.keyTarget === 'guard' ? guardKey(random.int(GUARD_KEY_COUNT)) : fuzzKey(random.int(PRELOADED_KEY_COUNT + 2)));
}

function plausibleInt(message: string, field: FieldInfo, random: Random): bigint {
  switch (field.name) {
    case 'TTL':
      return BigInt(random.between(5, 60));
    case 'ID':
    case 'lease':
      return message.startsWith('Member') ? BigInt(random.between(1, 1000)) : random.next() < 0.7 ? 0n : BigInt(random.between(1, 1000));
    case 'memberID':
    case 'targetID':
      return BigInt(random.between(1, 1000));
    default:
      return BigInt(random.between(0, 3));
  }
}

function scalar(message: string, field: FieldInfo, key: Buffer, options: BuildOptions): Pick<FieldNode, 'varint' | 'bytes'> {
  const { random } = options;
  switch (field.kind) {
    case 'bool':
      return { varint: random.next() < 0.5 ? 1n : 0n };
    case 'enum':
      return { varint: BigInt(random.between(0, field.enumMax ?? 0)) };
    case 'string':
      return { bytes: Buffer.from(`http://127.0.0.1:${random.between(1024, 65535)}`) };
    case 'bytes':
      if (field.name === 'key') return { bytes: key };
      if (field.name === 'range_end') return { bytes: random.pick([Buffer.from([0]), Buffer.concat([key, Buffer.from([0])]), Buffer.from(`${FUZZ_PREFIX}k~`), Buffer.alloc(0)]) };
      return { bytes: Buffer.from(`v${random.int(1000)}`) };
    default:
      return { varint: plausibleInt(message, field, random) };
  }
}

/** A request as etcd would accept it (modulo semantic checks), with keys chosen by options.keyTarget. */
export function buildMessage(type: MessageInfo, options: BuildOptions, depth = 0): FieldNode[] {
  const { random } = options;
  const key = WRITE_MESSAGES.has(type.name) ? writeKey(options) : random.next() < 0.8 ? Buffer.from(fuzzKey(random.int(PRELOADED_KEY_COUNT))) : Buffer.from(guardKey(0));
  const chosenOneof = new Map<string, FieldInfo>();
  for (const field of type.fields) {
    if (field.oneof === undefined || chosenOneof.has(field.oneof)) continue;
    const members = type.fields.filter((f) => f.oneof === field.oneof && (f.name !== 'request_txn' || depth < options.maxDepth));
    chosenOneof.set(field.oneof, random.pick(members));
  }
  const nodes: FieldNode[] = [];
  for (const field of type.fields) {
    if (field.oneof !== undefined && chosenOneof.get(field.oneof) !== field) continue;
    const required = field.name === 'key' || field.oneof !== undefined || options.allFields;
    if (!required && random.next() < 0.35) continue;
    const count = field.repeated ? (field.kind === 'message' ? random.between(0, 3) : random.between(1, 2)) : 1;
    for (let i = 0; i < count; i++) {
      const base = { field: field.id, name: field.name, kind: field.kind, repeated: field.repeated };
      if (field.kind === 'message') {
        if (field.messageType!.name === 'TxnRequest' && depth >= options.maxDepth) continue;
        nodes.push({ ...base, message: buildMessage(field.messageType!, options, depth + 1) });
      } else if (field.name === 'ID' && type.name === 'MemberUpdateRequest' && options.memberIds !== undefined && options.memberIds.length > 0) {
        nodes.push({ ...base, varint: random.pick(options.memberIds) });
      } else if (field.name === 'isLearner' && options.memberAddAsLearner === true) {
        nodes.push({ ...base, varint: 1n });
        random.next(); // the draw a bool takes, so the rest of the message is the same either way
      } else {
        nodes.push({ ...base, ...scalar(type.name, field, key, options) });
      }
    }
  }
  return nodes;
}

function declaredWireType(node: FieldNode): number {
  return node.varint !== undefined ? WireType.varint : WireType.bytes;
}

/** The node's value as bytes for a wire type it was not declared with. */
function valueForWireType(node: FieldNode, wireType: number): Buffer {
  const asNumber = node.varint ?? BigInt(node.bytes?.length ?? encodeNodes(node.message ?? []).length);
  switch (wireType) {
    case WireType.varint:
      return varint(asNumber);
    case WireType.fixed64: {
      const out = Buffer.alloc(8);
      out.writeBigUInt64LE(BigInt.asUintN(64, asNumber));
      return out;
    }
    case WireType.fixed32: {
      const out = Buffer.alloc(4);
      out.writeUInt32LE(Number(BigInt.asUintN(32, asNumber)));
      return out;
    }
    case WireType.bytes: {
      const body = varint(asNumber);
      return Buffer.concat([varint(body.length), body]);
    }
    default:
      // Start or end of a group, or the undefined wire types 6 and 7: what follows is anyone's guess.
      return varint(asNumber);
  }
}

export function encodeNode(node: FieldNode): Buffer {
  const wireType = node.wireTypeOverride ?? declaredWireType(node);
  const tag = paddedVarint((BigInt(node.field) << 3n) | BigInt(wireType), node.tagWidthBytes ?? 0);
  if (node.wireTypeOverride !== undefined && node.wireTypeOverride !== declaredWireType(node)) {
    return Buffer.concat([tag, valueForWireType(node, wireType)]);
  }
  if (node.varint !== undefined) return Buffer.concat([tag, paddedVarint(node.varint, node.valueWidthBytes ?? 0)]);
  const body = node.bytes ?? encodeNodes(node.message ?? []);
  const length = paddedVarint(node.declaredLength ?? BigInt(body.length), node.lengthWidthBytes ?? 0);
  return Buffer.concat([tag, length, body]);
}

export function encodeNodes(nodes: readonly FieldNode[]): Buffer {
  return Buffer.concat(nodes.map(encodeNode));
}

/** Every node of the tree, nested ones included, in encoding order. */
export function allNodes(nodes: readonly FieldNode[]): FieldNode[] {
  return nodes.flatMap((node) => [node, ...allNodes(node.message ?? [])]);
}

/** A nested Txn `levels` deep, each level writing its own fuzz key on success (distinct, so etcd accepts it). */
export function nestedTxn(levels: number): FieldNode[] {
  let inner: FieldNode[] = [];
  for (let level = 0; level < levels; level++) {
    const put: FieldNode = {
      field: 2, name: 'request_put', kind: 'message', repeated: false,
      message: [
        { field: 1, name: 'key', kind: 'bytes', repeated: false, bytes: Buffer.from(`${FUZZ_PREFIX}d${level}`) },
        { field: 2, name: 'value', kind: 'bytes', repeated: false, bytes: Buffer.from(`depth${level}`) },
      ],
    };
    const ops: FieldNode[] = [{ field: 2, name: 'success', kind: 'message', repeated: true, message: [put] }];
    if (level > 0) ops.push({ field: 2, name: 'success', kind: 'message', repeated: true, message: [{ field: 4, name: 'request_txn', kind: 'message', repeated: false, message: inner }] });
    inner = ops;
  }
  return inner;
}
