// etcd's JSON mapping of its protobuf messages, as its gateway (grpc-gateway v1 with golang/protobuf
// v1.3's jsonpb, OrigName) writes and reads them:
// - out (protobufjs's toObject): the field names declared in the .proto (`create_revision`, `TTL`),
//   64-bit integers as decimal strings, bytes as standard base64, enums by name; zero values, empty
//   lists and unset messages left out (a set but empty message is `{}`);
// - in (jsonpb's rules over Go's encoding/json, then protobufjs's fromObject): the declared name or
//   the lowerCamelCase one (the latter wins when both are given), fields taken in declaration order
//   (so the first error is the first field's), oneof members after the others, `null` as absent,
//   unknown fields ignored, a repeated key's last value. jsonpb works on each field's raw JSON: an
//   integer may be quoted, and the quotes are dropped without unescaping (`"\u0031"` is refused);
//   an enum is a name looked up as written, or a number; bytes are Go's base64 (or an array of
//   byte numbers). Every refusal carries the text Go gives for it, since clients show it.
//
// A request becomes protobuf bytes, which the gRPC server's own decoder then reads: a request over
// HTTP is checked by exactly the code that checks it over gRPC.

import protobuf from 'protobufjs';
import { MESSAGE_NESTING_MAX } from '../../server/requests.js';
import { loadEtcdRoot } from '../wire/schema.js';
import { GoBase64Error, goBase64Decode } from './go-base64.js';
import { GoJsonSyntaxError, goKindWord, goQuoteString, parseJsonValue, rawBytes, stringValue, type GoJsonNode } from './go-json.js';

/** A request body that etcd's gateway would refuse to read; the message is Go's text. */
export class JsonRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A `null` inside a list of messages: jsonpb leaves a nil entry there, and etcd's gateway then
 * fails to marshal the request (a nil-pointer panic its HTTP server recovers from by dropping the
 * connection without an answer). The gateway does the same.
 */
export class NullListEntryError extends Error {
  constructor(readonly fieldName: string) {
    super(`null entry in repeated message field ${fieldName}`);
    this.name = new.target.name;
  }
}

/**
 * A request nested deeper than the server takes (only a Txn can nest): etcd decodes it and refuses
 * it for its operation count, with this text (InvalidArgument). It is refused here, before
 * protobufjs recurses over it.
 */
export class TooDeepRequestError extends Error {
  constructor() {
    super('etcdserver: too many operations in txn request');
    this.name = new.target.name;
  }
}

let root: protobuf.Root | null = null;

/** The etcd API's types, loaded once. */
export function etcdTypes(): protobuf.Root {
  root ??= loadEtcdRoot();
  return root;
}

const JSON_OUT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false, arrays: false, oneofs: false };

/** Protobuf bytes of `type` as etcd's gateway writes them in JSON. */
export function protobufToJson(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  const message = type.decode(bytes);
  const object = type.toObject(message, JSON_OUT);
  return withoutZeroValues(type, object);
}

/** jsonpb with EmitDefaults off: a scalar equal to its zero value and an empty list are omitted. */
function withoutZeroValues(type: protobuf.Type, object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (value === undefined || value === null) continue;
    const nested = field.resolvedType;
    if (field.repeated) {
      const list = value as unknown[];
      if (list.length === 0) continue;
      out[field.name] = nested instanceof protobuf.Type ? list.map((item) => withoutZeroValues(nested, item as Record<string, unknown>)) : list;
    } else if (nested instanceof protobuf.Type) {
      out[field.name] = withoutZeroValues(nested, value as Record<string, unknown>);
    } else if (!isZero(value, nested)) {
      out[field.name] = value;
    }
  }
  return out;
}

function isZero(value: unknown, enumType: protobuf.ReflectionObject | null): boolean {
  if (enumType instanceof protobuf.Enum) return enumNumber(enumType, String(value)) === 0;
  return value === 0 || value === '0' || value === false || value === '';
}

/**
 * A request's JSON value (null: an empty body, which grpc-gateway reads as an empty message) as
 * protobuf bytes of `type`.
 */
export function jsonToProtobuf(type: protobuf.Type, value: GoJsonNode | null): Uint8Array {
  const object = value === null || value.kind === 'null' ? {} : messageObject(type, value, 0);
  const message = type.fromObject(object);
  return type.encode(message).finish();
}

/** jsonpb's unmarshal of one message: its fields from a JSON object, in protobufjs's input form. */
function messageObject(type: protobuf.Type, value: GoJsonNode, depth: number): Record<string, unknown> {
  if (depth > MESSAGE_NESTING_MAX) throw new TooDeepRequestError();
  if (value.kind !== 'object') throw cannotUnmarshal(goKindWord(value.kind), 'map[string]json.RawMessage');
  const members = new Map<string, GoJsonNode>();
  for (const [key, member] of value.members ?? []) members.set(key, member);
  const out: Record<string, unknown> = {};
  const take = (field: protobuf.Field): void => {
    const camel = jsonName(field.name);
    const given = members.get(camel) ?? members.get(field.name);
    if (given === undefined) return;
    members.delete(field.name);
    members.delete(camel);
    const converted = fieldValue(field, given, depth);
    if (converted !== undefined) out[field.name] = converted;
  };
  // As jsonpb: the plain fields in declaration order, then the oneof members.
  for (const field of type.fieldsArray) if (field.partOf === null) take(field);
  for (const oneof of type.oneofsArray) for (const field of oneof.fieldsArray) take(field);
  return out;
}

/** protoc's json_name: underscores dropped, the letter after each one upper-cased. */
function jsonName(name: string): string {
  return name.replace(/_+([a-z0-9]?)/g, (_match, letter: string) => letter.toUpperCase());
}

/** A field's value, or undefined when the JSON leaves it unset (`null`). */
function fieldValue(field: protobuf.Field, value: GoJsonNode, depth: number): unknown {
  const nested = field.resolvedType;
  if (!field.repeated) return singleValue(field, value, depth);
  // jsonpb tries an enum name before it looks at the field being a list.
  if (nested instanceof protobuf.Enum && value.kind === 'string') {
    const name = rawBytes(value).subarray(1, -1);
    if (enumNumber(nested, name.toString('latin1')) === undefined) throw unknownEnumValue(nested, name);
    throw new JsonRequestError(`invalid target "slice" for enum ${goEnumName(nested)}`);
  }
  if (value.kind === 'null') return undefined;
  if (value.kind !== 'array') throw cannotUnmarshal(goKindWord(value.kind), '[]json.RawMessage');
  return (value.items ?? []).map((item) => {
    if (nested instanceof protobuf.Type && item.kind === 'null') throw new NullListEntryError(field.name);
    return singleValue(field, item, depth);
  });
}

const GO_INTEGER_TYPES: Record<string, string> = {
  int32: 'int32', sint32: 'int32', sfixed32: 'int32', uint32: 'uint32', fixed32: 'uint32',
  int64: 'int64', sint64: 'int64', sfixed64: 'int64', uint64: 'uint64', fixed64: 'uint64',
};

function singleValue(field: protobuf.Field, value: GoJsonNode, depth: number): unknown {
  const nested = field.resolvedType;
  if (nested instanceof protobuf.Type) return value.kind === 'null' ? undefined : messageObject(nested, value, depth + 1);
  if (nested instanceof protobuf.Enum) return enumValue(nested, value);
  const goInteger = GO_INTEGER_TYPES[field.type];
  if (goInteger !== undefined) return integerValue(goInteger, value);
  if (field.type === 'bytes') return bytesValue(value);
  if (field.type === 'bool') {
    if (value.kind === 'null') return undefined;
    if (value.kind !== 'true' && value.kind !== 'false') throw cannotUnmarshal(goKindWord(value.kind), 'bool');
    return value.kind === 'true';
  }
  if (field.type === 'string') {
    if (value.kind === 'null') return undefined;
    if (value.kind !== 'string') throw cannotUnmarshal(goKindWord(value.kind), 'string');
    return stringValue(value);
  }
  throw new JsonRequestError(`unsupported field type ${field.type}`);
}

/** An enum: a quoted name looked up as written, else json.Unmarshal into Go's int32 enum type. */
function enumValue(type: protobuf.Enum, value: GoJsonNode): number | undefined {
  const goName = goEnumName(type);
  if (value.kind === 'string') {
    const name = rawBytes(value).subarray(1, -1);
    const number = enumNumber(type, name.toString('latin1'));
    if (number === undefined) throw unknownEnumValue(type, name);
    return number;
  }
  const number = goUnmarshalInteger(value, goName, 32, true);
  return number === undefined ? undefined : Number(number);
}

/** An integer: a quoted one is unquoted as it is written, then read as json.Unmarshal would. */
function integerValue(goType: string, value: GoJsonNode): string | undefined {
  let node = value;
  if (value.kind === 'string') {
    try {
      node = parseJsonValue(rawBytes(value).subarray(1, -1));
    } catch (error) {
      if (error instanceof GoJsonSyntaxError) throw new JsonRequestError(error.message);
      throw error;
    }
  }
  const number = goUnmarshalInteger(node, goType, goType.endsWith('64') ? 64 : 32, !goType.startsWith('u'));
  return number === undefined ? undefined : number.toString();
}

/** json.Unmarshal of a (valid) JSON value into a Go integer type; undefined for `null`, which leaves it alone. */
function goUnmarshalInteger(value: GoJsonNode, goType: string, bits: 8 | 32 | 64, signed: boolean): bigint | undefined {
  if (value.kind === 'null') return undefined;
  if (value.kind !== 'number') throw cannotUnmarshal(goKindWord(value.kind), goType);
  const text = rawBytes(value).toString('latin1');
  const bitCount = BigInt(bits);
  const [min, max] = signed ? [-(1n << (bitCount - 1n)), (1n << (bitCount - 1n)) - 1n] : [0n, (1n << bitCount) - 1n];
  // strconv.ParseInt / ParseUint: decimal digits only (a sign for signed types).
  const number = (signed ? /^-?\d+$/ : /^\d+$/).test(text) ? BigInt(text) : null;
  if (number === null || number < min || number > max) throw cannotUnmarshal(`number ${text}`, goType);
  return number;
}

/** Bytes: a base64 string (Go's StdEncoding), or, as encoding/json allows, an array of byte numbers. */
function bytesValue(value: GoJsonNode): Buffer | undefined {
  if (value.kind === 'null') return undefined;
  if (value.kind === 'string') {
    try {
      return goBase64Decode(Buffer.from(stringValue(value), 'utf8'));
    } catch (error) {
      if (error instanceof GoBase64Error) throw new JsonRequestError(error.message);
      throw error;
    }
  }
  if (value.kind === 'array') {
    // encoding/json goes on past a bad element and reports the first error at the end.
    let firstError: JsonRequestError | null = null;
    const bytes = (value.items ?? []).map((item) => {
      try {
        return Number(goUnmarshalInteger(item, 'uint8', 8, false) ?? 0n);
      } catch (error) {
        if (!(error instanceof JsonRequestError)) throw error;
        firstError ??= error;
        return 0;
      }
    });
    if (firstError !== null) throw firstError;
    return Buffer.from(bytes);
  }
  throw cannotUnmarshal(goKindWord(value.kind), '[]uint8');
}

/** The number of an enum value by its name (own names only: not `constructor`). */
function enumNumber(type: protobuf.Enum, name: string): number | undefined {
  return Object.hasOwn(type.values, name) ? type.values[name] : undefined;
}

function cannotUnmarshal(what: string, goType: string): JsonRequestError {
  return new JsonRequestError(`json: cannot unmarshal ${what} into Go value of type ${goType}`);
}

function unknownEnumValue(type: protobuf.Enum, name: Buffer): JsonRequestError {
  return new JsonRequestError(`unknown value ${goQuoteString(name.toString('utf8'))} for enum ${goEnumName(type)}`);
}

/** `.etcdserverpb.RangeRequest.SortOrder` → `etcdserverpb.RangeRequest_SortOrder`, Go's type name. */
function goEnumName(type: protobuf.Enum): string {
  const parts = type.fullName.replace(/^\./, '').split('.');
  const pkg = parts.shift() ?? '';
  return `${pkg}.${parts.join('_')}`;
}
