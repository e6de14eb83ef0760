// Seeded bad-input cases for every etcdserverpb method: each case is raw gRPC over HTTP/2 (path,
// headers, DATA chunks), so it can say what no client library would. Case i of seed s is drawn from
// its own PRNG stream, so one case replays alone (--only i) and the sequence does not depend on
// which cases a run skips.

import { Random } from '../fault/random.js';
import {
  EXTREME_INTS, FUZZ_PREFIX, INT_KINDS, PRELOADED_KEY_COUNT, allNodes, buildMessage, encodeNode, encodeNodes, fuzzKey, nestedTxn,
  type FieldNode, type KeyTarget,
} from './messages.js';
import { METHODS, type MethodInfo } from './schema.js';
import { framed, type Drawn, type RawRequest, type TargetInfo } from './request.js';
import { varint, WireType } from './wire.js';
import { http2Oddity, hostilePeerUrlCase, streamSequence } from './special-cases.js';

export const CATEGORIES = [
  'random-bytes', 'truncated', 'wrong-wire-type', 'overlong-varint', 'huge-length', 'extreme-int', 'keys', 'range-end',
  'deep-txn', 'many-ops', 'peer-urls', 'http2', 'stream',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Cases sent only when asked: 'membership' = every MemberAdd and MemberUpdate (they may change who is in the cluster). */
export type CaseGroup = 'default' | 'membership';

export interface BadInputCase {
  readonly index: number;
  readonly category: Category;
  readonly method: MethodInfo;
  readonly description: string;
  /** True: valid protobuf and gRPC; false: must be rejected whole; null: unknown (random bytes). */
  readonly wellFormed: boolean | null;
  /** A malformed write aimed at the guard keys: if any part of it applies, a guard changes. */
  readonly targetsGuard: boolean;
  readonly group: CaseGroup;
  build(target: TargetInfo): RawRequest;
}

const WRITE_METHODS = new Set(['Put', 'DeleteRange', 'Txn']);
const KEYED_METHODS = new Set(['Range', 'Put', 'DeleteRange', 'Txn', 'Watch']);
const MEMBERSHIP_METHODS = new Set(['MemberAdd', 'MemberUpdate']);
export const HUGE_LENGTHS: readonly bigint[] = [2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 32n + 7n, 2n ** 62n, 2n ** 64n - 1n];

function caseRandom(seed: number, index: number): Random {
  return new Random((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

function methodsFor(category: Category): MethodInfo[] {
  switch (category) {
    case 'keys':
    case 'range-end':
      return METHODS.filter((m) => KEYED_METHODS.has(m.name));
    case 'deep-txn':
    case 'many-ops':
      return METHODS.filter((m) => m.name === 'Txn');
    case 'peer-urls':
      return METHODS.filter((m) => MEMBERSHIP_METHODS.has(m.name));
    case 'stream':
      return METHODS.filter((m) => m.streaming);
    case 'extreme-int':
      return METHODS.filter((m) => allNodesOfType(m).some((kind) => INT_KINDS.has(kind)));
    case 'wrong-wire-type':
    case 'overlong-varint':
    case 'huge-length':
      return METHODS.filter((m) => m.request.fields.length > 0);
    default:
      return [...METHODS];
  }
}

function allNodesOfType(method: MethodInfo): string[] {
  return method.request.fields.map((f) => f.kind);
}


/** Cuts strictly inside a top-level field, never between two, so the result cannot parse. */
function truncate(nodes: FieldNode[], random: Random): { body: Buffer; cut: number } | null {
  const encoded = nodes.map(encodeNode);
  const boundaries = new Set<number>([0]);
  let at = 0;
  for (const part of encoded) boundaries.add((at += part.length));
  const inside = Array.from({ length: at }, (_, i) => i).filter((i) => !boundaries.has(i));
  if (inside.length === 0) return null;
  const cut = random.pick(inside);
  return { body: Buffer.concat(encoded).subarray(0, cut), cut };
}

function draw(category: Category, method: MethodInfo, random: Random): Drawn | null {
  const malformedTarget: KeyTarget = WRITE_METHODS.has(method.name) && random.next() < 0.6 ? 'guard' : 'fuzz';
  const message = (keyTarget: KeyTarget, target: TargetInfo, allFields = false, seedRandom = random): FieldNode[] =>
    buildMessage(method.request, { random: seedRandom, keyTarget, maxDepth: 2, allFields, memberIds: target.memberIds, memberAddAsLearner: target.memberAddAsLearner === true });
  // Messages are drawn at build time from a copy of the PRNG state, so one draw serves every target.
  const fork = (): Random => new Random(random.int(2 ** 32));
  switch (category) {
    case 'random-bytes': {
      const length = random.pick([0, 1, 2, 5, 16, 64, 512]);
      const body = Buffer.from(Array.from({ length }, () => random.int(256)));
      return { description: `${length} random bytes`, wellFormed: length === 0 ? true : null, keyTarget: 'fuzz', build: () => unaryOrStream(method, body) };
    }
    case 'truncated': {
      const r = fork();
      const probe = truncate(message(malformedTarget, { memberIds: [] }, true, new Random(r.seed)), new Random(r.seed + 1));
      if (probe === null) return null;
      return {
        description: `valid message cut at byte ${probe.cut}`, wellFormed: false, keyTarget: malformedTarget,
        build: (target) => unaryOrStream(method, truncate(message(malformedTarget, target, true, new Random(r.seed)), new Random(r.seed + 1))?.body ?? Buffer.alloc(0)),
      };
    }
    case 'wrong-wire-type': {
      const r = fork();
      const wireTypes = [WireType.varint, WireType.fixed64, WireType.bytes, WireType.startGroup, WireType.endGroup, WireType.fixed32, 6, 7];
      const chosenWireType = random.pick(wireTypes);
      const damage = (nodes: FieldNode[]): string => {
        const pick = new Random(r.seed + 2);
        const candidates = allNodes(nodes).filter((n) => {
          const declared = n.varint !== undefined ? WireType.varint : WireType.bytes;
          // A repeated number may arrive packed (wire type 2): that is valid, not damage.
          return chosenWireType !== declared && !(chosenWireType === WireType.bytes && n.repeated && n.varint !== undefined);
        });
        if (candidates.length === 0) return 'none';
        const node = pick.pick(candidates);
        node.wireTypeOverride = chosenWireType;
        return node.name;
      };
      const probe = message(malformedTarget, { memberIds: [] }, true, new Random(r.seed));
      const field = damage(probe);
      if (field === 'none') return null;
      return {
        description: `field ${field} sent with wire type ${chosenWireType}`, wellFormed: false, keyTarget: malformedTarget,
        build: (target) => {
          const nodes = message(malformedTarget, target, true, new Random(r.seed));
          damage(nodes);
          return unaryOrStream(method, encodeNodes(nodes));
        },
      };
    }
    case 'overlong-varint': {
      const r = fork();
      const widthBytes = random.pick([2, 6, 10, 10, 11, 12, 16]);
      const where = random.pick(['tag', 'length', 'value', 'bool'] as const);
      // A bool of any value, and a varint of up to 10 bytes, is valid: only the rest may aim at guards.
      const valid = where === 'bool' || widthBytes <= 10;
      const keyTarget = valid ? 'fuzz' : malformedTarget;
      const damage = (nodes: FieldNode[]): string => {
        const pick = new Random(r.seed + 2);
        const all = allNodes(nodes);
        const candidates = where === 'tag' ? all : where === 'length' ? all.filter((n) => n.varint === undefined) : all.filter((n) => n.varint !== undefined && (where === 'value' || n.kind === 'bool'));
        if (candidates.length === 0) return 'none';
        const node = pick.pick(candidates);
        if (where === 'tag') node.tagWidthBytes = widthBytes;
        else if (where === 'length') node.lengthWidthBytes = widthBytes;
        else if (where === 'bool') node.varint = pick.pick([2n, 255n, 2n ** 64n - 1n]);
        else node.valueWidthBytes = widthBytes;
        return `${node.name} ${where}`;
      };
      const probe = message(keyTarget, { memberIds: [] }, true, new Random(r.seed));
      const field = damage(probe);
      if (field === 'none') return null;
      return {
        description: where === 'bool' ? `bool ${field} with a value other than 0 and 1` : `${field} as a ${widthBytes}-byte varint`,
        wellFormed: valid, keyTarget,
        build: (target) => {
          const nodes = message(keyTarget, target, true, new Random(r.seed));
          damage(nodes);
          return unaryOrStream(method, encodeNodes(nodes));
        },
      };
    }
    case 'huge-length': {
      const r = fork();
      const declared = random.pick(HUGE_LENGTHS);
      const damage = (nodes: FieldNode[]): string => {
        const candidates = allNodes(nodes).filter((n) => n.varint === undefined);
        if (candidates.length === 0) return 'none';
        const node = new Random(r.seed + 2).pick(candidates);
        node.declaredLength = declared;
        return node.name;
      };
      const probe = message(malformedTarget, { memberIds: [] }, true, new Random(r.seed));
      if (damage(probe) === 'none') {
        // No length-delimited field: declare one on an unknown field number.
        const body = Buffer.concat([varint((99n << 3n) | 2n), varint(declared), Buffer.from('x')]);
        return { description: `unknown field 99 declaring ${declared} bytes`, wellFormed: false, keyTarget: 'fuzz', build: () => unaryOrStream(method, body) };
      }
      return {
        description: `field ${damage(message(malformedTarget, { memberIds: [] }, true, new Random(r.seed)))} declaring ${declared} bytes`, wellFormed: false, keyTarget: malformedTarget,
        build: (target) => {
          const nodes = message(malformedTarget, target, true, new Random(r.seed));
          damage(nodes);
          return unaryOrStream(method, encodeNodes(nodes));
        },
      };
    }
    case 'extreme-int': {
      const r = fork();
      const value = random.pick(EXTREME_INTS);
      const every = random.next() < 0.2;
      const damage = (nodes: FieldNode[]): string => {
        const candidates = allNodes(nodes).filter((n) => INT_KINDS.has(n.kind) && n.varint !== undefined);
        if (candidates.length === 0) return 'none';
        const chosen = every ? candidates : [new Random(r.seed + 2).pick(candidates)];
        for (const node of chosen) node.varint = value;
        return every ? 'every int field' : chosen[0]!.name;
      };
      const probe = message('fuzz', { memberIds: [] }, true, new Random(r.seed));
      const field = damage(probe);
      if (field === 'none') return null;
      return {
        description: `${field} = ${value}`, wellFormed: true, keyTarget: 'fuzz',
        build: (target) => {
          const nodes = message('fuzz', target, true, new Random(r.seed));
          damage(nodes);
          return unaryOrStream(method, encodeNodes(nodes));
        },
      };
    }
    case 'keys':
      return keyCase(method, random);
    case 'range-end':
      return rangeEndCase(method, random);
    case 'deep-txn': {
      const levels = random.between(10, 60);
      return { description: `Txn nested ${levels} deep`, wellFormed: true, keyTarget: 'fuzz', build: () => framed(method, [encodeNodes(nestedTxn(levels))]) };
    }
    case 'many-ops':
      return manyOpsCase(method, random);
    case 'peer-urls':
      return hostilePeerUrlCase(method, random);
    case 'http2':
      return http2Oddity(random);
    case 'stream':
      return streamSequence(method, random);
  }
}

function unaryOrStream(method: MethodInfo, body: Buffer): RawRequest {
  return framed(method, [body]);
}

const bytesNode = (field: number, name: string, bytes: Buffer): FieldNode => ({ field, name, kind: 'bytes', repeated: false, bytes });

function keyCase(method: MethodInfo, random: Random): Drawn {
  const shapes: Array<[string, Buffer]> = [
    ['empty key', Buffer.alloc(0)],
    ['key of one NUL byte', Buffer.from([0])],
    ['key of 0xff bytes', Buffer.alloc(64, 0xff)],
    ['key of every byte value', Buffer.concat([Buffer.from(FUZZ_PREFIX), Buffer.from(Array.from({ length: 256 }, (_, i) => i))])],
    ['64 KiB key', Buffer.concat([Buffer.from(FUZZ_PREFIX), Buffer.alloc(64 * 1024, 0x61)])],
    ['1.5 MiB key (the default request limit)', Buffer.concat([Buffer.from(FUZZ_PREFIX), Buffer.alloc(1_572_864, 0x62)])],
    ['2.5 MiB key (over the gRPC receive limit)', Buffer.concat([Buffer.from(FUZZ_PREFIX), Buffer.alloc(2_621_440, 0x63)])],
  ];
  let [description, key] = random.pick(shapes);
  // A write's key must stay at or above FUZZ_PREFIX: a bare NUL or 0xff key is only read.
  if (WRITE_METHODS.has(method.name) && key.length > 0 && !key.subarray(0, FUZZ_PREFIX.length).equals(Buffer.from(FUZZ_PREFIX))) key = Buffer.concat([Buffer.from(FUZZ_PREFIX), key]);
  const value = bytesNode(2, 'value', Buffer.from('v'));
  const request = (): FieldNode[] => {
    switch (method.name) {
      case 'Put':
        return [bytesNode(1, 'key', key), value];
      case 'Txn':
        return [{ field: 2, name: 'success', kind: 'message', repeated: true, message: [{ field: 2, name: 'request_put', kind: 'message', repeated: false, message: [bytesNode(1, 'key', key), value] }] }];
      case 'Watch':
        return [{ field: 1, name: 'create_request', kind: 'message', repeated: false, message: [bytesNode(1, 'key', key)] }];
      default:
        return [bytesNode(1, 'key', key)];
    }
  };
  return { description, wellFormed: true, keyTarget: 'fuzz', build: () => framed(method, [encodeNodes(request())]) };
}

function rangeEndCase(method: MethodInfo, random: Random): Drawn {
  const key = Buffer.from(fuzzKey(random.int(PRELOADED_KEY_COUNT)));
  const writes = WRITE_METHODS.has(method.name);
  const shapes: Array<[string, Buffer, Buffer]> = [
    ['range_end "\\0" (every key from key on)', key, Buffer.from([0])],
    ['range_end below key', key, Buffer.from(FUZZ_PREFIX)],
    ['range_end equal to key', key, key],
    ['range_end = key + "\\0"', key, Buffer.concat([key, Buffer.from([0])])],
    ['range_end of 0xff bytes', key, Buffer.alloc(32, 0xff)],
    ['range_end with empty key', Buffer.alloc(0), Buffer.from(`${FUZZ_PREFIX}z`)],
  ];
  if (!writes) shapes.push(['key "\\0" and range_end "\\0" (everything)', Buffer.from([0]), Buffer.from([0])], ['range_end 1 MiB long', key, Buffer.alloc(1 << 20, 0x7a)]);
  const [description, start, end] = random.pick(shapes);
  const body = (): FieldNode[] => {
    const range = [bytesNode(1, 'key', start), bytesNode(2, 'range_end', end)];
    switch (method.name) {
      case 'Put':
        return [bytesNode(1, 'key', start), bytesNode(2, 'value', end)]; // Put has no range_end: the same bytes as a value
      case 'Txn':
        return [{ field: 2, name: 'success', kind: 'message', repeated: true, message: [{ field: 3, name: 'request_delete_range', kind: 'message', repeated: false, message: range }] }];
      case 'Watch':
        return [{ field: 1, name: 'create_request', kind: 'message', repeated: false, message: range }];
      default:
        return range;
    }
  };
  return { description: `${description}`, wellFormed: true, keyTarget: 'fuzz', build: () => framed(method, [encodeNodes(body())]) };
}

function manyOpsCase(method: MethodInfo, random: Random): Drawn {
  const count = random.pick([128, 129, 1000, 10_000]);
  const where = random.pick(['compare', 'success', 'failure', 'duplicate-put'] as const);
  const put = (i: number): FieldNode => ({
    field: where === 'failure' ? 3 : 2, name: where, kind: 'message', repeated: true,
    message: [{ field: 2, name: 'request_put', kind: 'message', repeated: false, message: [bytesNode(1, 'key', Buffer.from(where === 'duplicate-put' ? fuzzKey(1) : `${FUZZ_PREFIX}op${i}`)), bytesNode(2, 'value', Buffer.from('x'))] }],
  });
  const compare = (): FieldNode => ({ field: 1, name: 'compare', kind: 'message', repeated: true, message: [bytesNode(3, 'key', Buffer.from(fuzzKey(0)))] });
  const n = where === 'duplicate-put' ? 2 + random.int(3) : count;
  const nodes = Array.from({ length: n }, (_, i) => (where === 'compare' ? compare() : put(i)));
  return { description: where === 'duplicate-put' ? `${n} puts of one key` : `${count} ${where} operations`, wellFormed: true, keyTarget: 'fuzz', build: () => framed(method, [encodeNodes(nodes)]) };
}

/** The first `count` cases of `seed`, every category and method. */
export function generateCases(seed: number, count: number): BadInputCase[] {
  const cases: BadInputCase[] = [];
  for (let index = 0; index < count; index++) cases.push(generateCase(seed, index));
  return cases;
}

export function generateCase(seed: number, index: number): BadInputCase {
  const random = caseRandom(seed, index);
  for (;;) {
    const category = random.pick(CATEGORIES);
    const method = random.pick(methodsFor(category));
    const drawn = draw(category, method, random);
    if (drawn === null) continue;
    const effectiveMethod = drawn.method ?? method;
    return {
      index, category, method: effectiveMethod, description: drawn.description, wellFormed: drawn.wellFormed,
      targetsGuard: drawn.keyTarget === 'guard' && drawn.wellFormed === false,
      group: MEMBERSHIP_METHODS.has(effectiveMethod.name) ? 'membership' : 'default',
      build: drawn.build,
    };
  }
}

