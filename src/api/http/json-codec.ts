// etcd's JSON mapping of its protobuf messages, as its grpc-gateway (jsonpb, OrigName) writes and
// reads them, built on protobufjs's own conversions (fromObject / toObject):
// - out: the field names declared in the .proto (`create_revision`, `TTL`), 64-bit integers as
//   decimal strings, bytes as standard base64, enums by name; zero values, empty lists and unset
//   messages left out (a set but empty message is `{}`);
// - in: either the declared name or its lowerCamelCase JSON name, 64-bit integers as numbers or
//   strings, enums by name or number, `null` as absent, unknown fields ignored (etcd 3.4 does).
// A value of the wrong shape is refused with the text Go's decoder gives for it (clients show it).
//
// A request becomes protobuf bytes, which the gRPC server's own decoder then reads: a request over
// HTTP is checked by exactly the code that checks it over gRPC.

import protobuf from 'protobufjs';
import { MESSAGE_NESTING_MAX } from '../../server/requests.js';
import { loadEtcdRoot } from '../wire/schema.js';

/** encoding/json's bound on nesting: deeper is a syntax error in Go. */
const JSON_NESTING_MAX = 10_000;

/** A request body that etcd's gateway would refuse to read (InvalidArgument, HTTP 400). */
export class JsonRequestError extends Error {
  constructor(message: string) {
    super(message);
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

/** Protobuf bytes of `typeName` as etcd's gateway writes them in JSON. */
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
  if (enumType instanceof protobuf.Enum) return enumType.values[value as string] === 0;
  return value === 0 || value === '0' || value === false || value === '';
}

/**
 * A request nested deeper than the server takes (only a Txn can nest): etcd decodes it and refuses
 * it for its operation count, with this text (InvalidArgument).
 */
export class TooDeepRequestError extends Error {
  constructor() {
    super('etcdserver: too many operations in txn request');
    this.name = new.target.name;
  }
}

/** The body of an HTTP request (a JSON text, maybe empty) as protobuf bytes of `type`. */
export function jsonToProtobuf(type: protobuf.Type, body: string): Uint8Array {
  let parsed: unknown;
  if (body.trim() === '') parsed = null;
  else {
    checkJsonNesting(body);
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      throw new JsonRequestError(goSyntaxErrorText(body, error));
    }
  }
  // grpc-gateway reads a JSON `null` body as an empty message; a non-object is a type error.
  const object = parsed === null ? {} : asMessageObject(parsed);
  const message = type.fromObject(normalizeMessage(type, object, 0));
  return type.encode(message).finish();
}

/** Go's refusal of a text nested past JSON_NESTING_MAX, before anything recurses over it. */
function checkJsonNesting(body: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i += 1) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > JSON_NESTING_MAX) throw new JsonRequestError(`invalid character '${body[i]}' exceeded max depth`);
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
}

function asMessageObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JsonRequestError(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type map[string]json.RawMessage`);
  }
  return value as Record<string, unknown>;
}

/** The JSON object of one message, with every field checked and in protobufjs's input form. */
function normalizeMessage(type: protobuf.Type, object: Record<string, unknown>, depth: number): Record<string, unknown> {
  if (depth > MESSAGE_NESTING_MAX) throw new TooDeepRequestError();
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(object)) {
    const field = type.fields[name] ?? fieldByJsonName(type, name);
    if (field === undefined || value === null) continue;
    if (field.repeated) {
      if (!Array.isArray(value)) throw new JsonRequestError(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type []json.RawMessage`);
      out[field.name] = value.map((item) => normalizeValue(field, item, depth));
    } else {
      out[field.name] = normalizeValue(field, value, depth);
    }
  }
  return out;
}

function fieldByJsonName(type: protobuf.Type, name: string): protobuf.Field | undefined {
  return type.fieldsArray.find((field) => lowerCamelCase(field.name) === name);
}

function lowerCamelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

const INTEGER_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function normalizeValue(field: protobuf.Field, value: unknown, depth: number): unknown {
  const nested = field.resolvedType;
  if (nested instanceof protobuf.Type) return normalizeMessage(nested, asMessageObject(value), depth + 1);
  if (nested instanceof protobuf.Enum) return enumValue(nested, value);
  if (field.type === 'bytes') return bytesValue(value);
  if (field.type === 'bool') {
    if (typeof value !== 'boolean') throw new JsonRequestError(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type bool`);
    return value;
  }
  if (field.type === 'string') {
    if (typeof value !== 'string') throw new JsonRequestError(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type string`);
    return value;
  }
  if (INTEGER_TYPES.has(field.type)) return integerValue(field.type, value);
  return value;
}

/** jsonpb takes an integer as a JSON number or as a string holding one (it reads the inside as JSON). */
function integerValue(protoType: string, value: unknown): string {
  const goType = protoType.endsWith('64') ? (protoType.startsWith('u') || protoType.startsWith('fixed') ? 'uint64' : 'int64') : protoType.startsWith('u') || protoType.startsWith('fixed') ? 'uint32' : 'int32';
  let text: string;
  if (typeof value === 'number') text = JSON.stringify(value);
  else if (typeof value === 'string') {
    text = value;
    if (!/^-?\d/.test(text)) throw new JsonRequestError(text === '' ? 'unexpected end of JSON input' : `invalid character ${goQuotedCharacter(text[0]!)} looking for beginning of value`);
  } else throw new JsonRequestError(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type ${goType}`);
  if (!/^-?\d+$/.test(text)) throw new JsonRequestError(`json: cannot unmarshal number ${text} into Go value of type ${goType}`);
  const big = BigInt(text);
  const bits = goType.endsWith('64') ? 64n : 32n;
  const [min, max] = goType.startsWith('u') ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
  if (big < min || big > max) throw new JsonRequestError(`json: cannot unmarshal number ${text} into Go value of type ${goType}`);
  return text;
}

function enumValue(type: protobuf.Enum, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && type.values[value] !== undefined) return type.values[value]!;
  const goName = goEnumName(type);
  if (typeof value === 'string') throw new JsonRequestError(`unknown value ${JSON.stringify(value)} for enum ${goName}`);
  throw new JsonRequestError(`unknown value ${JSON.stringify(value)} for enum ${goName}`);
}

/** `.etcdserverpb.RangeRequest.SortOrder` → `etcdserverpb.RangeRequest_SortOrder`, Go's type name. */
function goEnumName(type: protobuf.Enum): string {
  const parts = type.fullName.replace(/^\./, '').split('.');
  const pkg = parts.shift() ?? '';
  return `${pkg}.${parts.join('_')}`;
}

const STD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_BASE64 = /^[A-Za-z0-9_-]*={0,2}$/;

/** Go decodes bytes as standard base64, then as URL-safe base64 when that fails. */
function bytesValue(value: unknown): Buffer {
  if (typeof value !== 'string') throw new JsonRequestError(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type []uint8`);
  if ((STD_BASE64.test(value) || URL_BASE64.test(value)) && base64LengthOk(value)) return Buffer.from(value, URL_BASE64.test(value) && /[-_]/.test(value) ? 'base64url' : 'base64');
  throw new JsonRequestError(`illegal base64 data at input byte ${firstBadBase64Byte(value)}`);
}

function base64LengthOk(text: string): boolean {
  const unpadded = text.replace(/=+$/, '');
  return text.length % 4 === 0 ? true : unpadded.length === text.length && text.length % 4 !== 1;
}

function firstBadBase64Byte(text: string): number {
  for (let i = 0; i < text.length; i += 1) if (!/[A-Za-z0-9+/=_-]/.test(text[i]!)) return i;
  return Math.max(0, text.length - (text.length % 4 === 0 ? 4 : text.length % 4));
}

/** The JSON kind Go names in "cannot unmarshal X into": number, string, bool, array, object. */
function goJsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  return 'object';
}

function goQuotedCharacter(character: string): string {
  return character === "'" ? "'\\''" : `'${character}'`;
}

/**
 * Go's encoding/json text for a body that is not JSON: the first character it cannot take, or
 * "unexpected end of JSON input". V8's message gives the position for most errors.
 */
function goSyntaxErrorText(body: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const position = /position (\d+)/.exec(message);
  if (position === null || Number(position[1]) >= body.length) return 'unexpected end of JSON input';
  const at = Number(position[1]);
  const before = body.slice(0, at).trimEnd();
  const context = before.endsWith('{') || before.endsWith(',') && isInsideObject(before) ? 'looking for beginning of object key string' : 'looking for beginning of value';
  return `invalid character ${goQuotedCharacter(body[at]!)} ${context}`;
}

function isInsideObject(text: string): boolean {
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i -= 1) {
    const c = text[i];
    if (c === '}' || c === ']') depth += 1;
    else if (c === '{' || c === '[') {
      if (depth === 0) return c === '{';
      depth -= 1;
    }
  }
  return false;
}
