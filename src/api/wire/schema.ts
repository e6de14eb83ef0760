// Field tables for the strict request decoder (decoder.ts), built once from the protobufjs
// reflection of the same .proto files proto-loader loads. Each message type gets a table indexed by
// field number, so decoding a field is an array load and a switch on its kind: no per-field
// closures, nothing looked up by name on the hot path.

import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT } from '../../grpc/proto-root.js';

/** How a field's value is read and what JS value it becomes (the shape proto-loader gives). */
export const enum FieldKind {
  /** int64 → number, rounded to the nearest double beyond 2^53 (proto-loader's longs: Number). */
  Int64,
  /** uint64 → number, likewise rounded. */
  Uint64,
  /** int32 and enums → number, the low 32 bits as Go's int32 conversion keeps them. */
  Int32,
  Uint32,
  /** Any nonzero 64-bit varint is true, as in Go. */
  Bool,
  /** → Buffer (a view of the request, as proto-loader gives). */
  Bytes,
  /** → string; invalid UTF-8 becomes U+FFFD, since etcd 3.4 does not validate it either. */
  String,
  Message,
  /** A lease ID (int64) → exact bigint. */
  LeaseId,
}

export interface FieldSpec {
  /** The .proto name, which is the JS property name (keepCase). */
  readonly name: string;
  /** The Go field name gogo's error messages use ("wrong wireType = 1 for field Key"). */
  readonly goName: string;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** Wire type 0 (varint) or 2 (length-delimited); repeated varint fields also take 2 (packed). */
  readonly wireType: 0 | 2;
  readonly packable: boolean;
  /** The oneof's virtual property (proto-loader's oneofs: true), or null. */
  readonly oneof: string | null;
  /** Set for message fields once every table exists. */
  message: MessageSpec | null;
}

export interface MessageSpec {
  /** The Go type name gogo's error messages use ("proto: PutRequest: illegal tag ..."). */
  readonly goName: string;
  /** Indexed by field number; holes for numbers the type does not define. */
  readonly byNumber: ReadonlyArray<FieldSpec | undefined>;
  /** Declaration order: the order proto-loader fills in defaults. */
  readonly fields: readonly FieldSpec[];
  /** proto-loader's defaults for every field outside a oneof (lists: placeholders, see repeatedNames). */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** Repeated fields, each of which needs a new empty list per message. */
  readonly repeatedNames: readonly string[];
}

/**
 * Lease-ID fields of requests, decoded as exact bigint (every other int64 stays a number).
 * Keyed "Message.field".
 */
export const LEASE_ID_FIELDS: ReadonlySet<string> = new Set([
  'PutRequest.lease',
  'Compare.lease',
  'LeaseGrantRequest.ID',
  'LeaseRevokeRequest.ID',
  'LeaseKeepAliveRequest.ID',
  'LeaseTimeToLiveRequest.ID',
]);

const VARINT_KINDS: Record<string, FieldKind> = {
  int64: FieldKind.Int64,
  uint64: FieldKind.Uint64,
  int32: FieldKind.Int32,
  uint32: FieldKind.Uint32,
  bool: FieldKind.Bool,
};

/** Go's generator's CamelCase: drop '_' before a lower-case letter, capitalise word starts. */
export function goCamelCase(name: string): string {
  let out = '';
  let i = 0;
  if (name.startsWith('_')) {
    out += 'X';
    i++;
  }
  const isLower = (c: string): boolean => c >= 'a' && c <= 'z';
  const isDigit = (c: string): boolean => c >= '0' && c <= '9';
  for (; i < name.length; i++) {
    const c = name[i];
    if (c === '_' && i + 1 < name.length && isLower(name[i + 1])) continue;
    if (isDigit(c)) {
      out += c;
      continue;
    }
    out += isLower(c) ? c.toUpperCase() : c;
    while (i + 1 < name.length && isLower(name[i + 1])) out += name[++i];
  }
  return out;
}

function goTypeName(type: protobuf.Type): string {
  // A top-level type keeps its name; a nested type Outer.Inner is Outer_Inner in Go.
  const names = [type.name];
  for (let parent = type.parent; parent instanceof protobuf.Type; parent = parent.parent) names.unshift(parent.name);
  return names.join('_');
}

function fieldSpec(type: protobuf.Type, field: protobuf.Field): FieldSpec {
  const resolved = field.resolve();
  let kind: FieldKind;
  if (resolved.resolvedType instanceof protobuf.Type) kind = FieldKind.Message;
  else if (resolved.resolvedType instanceof protobuf.Enum) kind = FieldKind.Int32;
  else if (field.type === 'bytes') kind = FieldKind.Bytes;
  else if (field.type === 'string') kind = FieldKind.String;
  else if (field.type in VARINT_KINDS) kind = VARINT_KINDS[field.type];
  else throw new Error(`strict decoder: ${type.name}.${field.name} has type ${field.type}, which requests do not use`);
  if (LEASE_ID_FIELDS.has(`${type.name}.${field.name}`)) {
    if (field.type !== 'int64') throw new Error(`strict decoder: lease ID ${type.name}.${field.name} is not int64`);
    kind = FieldKind.LeaseId;
  }
  if (field.map) throw new Error(`strict decoder: ${type.name}.${field.name} is a map, which requests do not use`);
  const lengthDelimited = kind === FieldKind.Message || kind === FieldKind.Bytes || kind === FieldKind.String;
  return {
    name: field.name,
    goName: goCamelCase(field.name),
    kind,
    repeated: field.repeated,
    wireType: lengthDelimited ? 2 : 0,
    packable: field.repeated && !lengthDelimited,
    oneof: field.partOf === null ? null : field.partOf.name,
    message: null,
  };
}

/** A zero-length value cannot be changed, so every empty bytes default shares one. */
export const EMPTY_BYTES = Buffer.alloc(0);

function defaultsOf(fields: readonly FieldSpec[]): Pick<MessageSpec, 'defaults' | 'repeatedNames'> {
  const defaults: Record<string, unknown> = {};
  const repeatedNames: string[] = [];
  for (const field of fields) {
    if (field.oneof !== null) continue;
    if (field.repeated) {
      defaults[field.name] = null;
      repeatedNames.push(field.name);
    } else defaults[field.name] = DEFAULT_BY_KIND[field.kind];
  }
  return { defaults, repeatedNames };
}

const DEFAULT_BY_KIND: Record<FieldKind, unknown> = {
  [FieldKind.Int64]: 0,
  [FieldKind.Uint64]: 0,
  [FieldKind.Int32]: 0,
  [FieldKind.Uint32]: 0,
  [FieldKind.Bool]: false,
  [FieldKind.Bytes]: EMPTY_BYTES,
  [FieldKind.String]: '',
  [FieldKind.Message]: null,
  [FieldKind.LeaseId]: 0n,
};

/** Builds the tables of `rootTypes` and every message type they reach. */
function buildSpecs(rootTypes: readonly protobuf.Type[]): Map<protobuf.Type, MessageSpec> {
  const specs = new Map<protobuf.Type, MessageSpec>();
  const pending: Array<[FieldSpec, protobuf.Type]> = [];
  const queue = [...rootTypes];
  while (queue.length > 0) {
    const type = queue.pop()!;
    if (specs.has(type)) continue;
    const fields = type.fieldsArray.map((field) => fieldSpec(type, field));
    const byNumber: Array<FieldSpec | undefined> = [];
    type.fieldsArray.forEach((field, i) => {
      byNumber[field.id] = fields[i];
      if (fields[i].kind === FieldKind.Message) {
        const child = field.resolvedType as protobuf.Type;
        pending.push([fields[i], child]);
        queue.push(child);
      }
    });
    specs.set(type, { goName: goTypeName(type), byNumber: Array.from(byNumber), fields, ...defaultsOf(fields) });
  }
  for (const [field, child] of pending) field.message = specs.get(child)!;
  return specs;
}

/** The etcd API's types (etcdserverpb, mvccpb), loaded as proto-loader loads them. */
export function loadEtcdRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
  root.loadSync('etcdserverpb/rpc.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

/** The table of every request type of `services` (by full service name), keyed by method path. */
export function requestSpecsByPath(root: protobuf.Root, serviceNames: readonly string[]): Map<string, MessageSpec> {
  const methods: Array<[string, protobuf.Type]> = [];
  for (const serviceName of serviceNames) {
    const service = root.lookupService(serviceName);
    for (const method of service.methodsArray) {
      method.resolve();
      methods.push([`/${serviceName}/${method.name}`, method.resolvedRequestType!]);
    }
  }
  const specs = buildSpecs(methods.map(([, type]) => type));
  return new Map(methods.map(([path, type]) => [path, specs.get(type)!]));
}
