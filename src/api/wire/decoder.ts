// A strict protobuf decoder for etcd client requests, refusing what etcd 3.4 refuses.
//
// etcd 3.4 decodes requests with gogo-protobuf's generated Unmarshal; protobufjs (under
// proto-loader) is laxer: it ignores wire types and reads tags, lengths and bools as 32-bit, so a
// malformed request could be applied as a different one. This decoder follows gogo's rules:
//   - tags, lengths and varint values are 64-bit varints of at most 10 bytes ("proto: integer
//     overflow" past that); bits beyond the 64th are dropped, as Go's shifts drop them;
//   - the field number is the tag's bits 3..34 as a Go int32; <= 0 is an illegal tag; wire type 4
//     (end group) at a message's top is an error; a known field with another wire type is an
//     error ("proto: wrong wireType = N for field GoName"); repeated varint fields take packed and
//     unpacked encodings;
//   - a negative length, or one running past the enclosing message, is an error;
//   - unknown fields are skipped by wire type, groups (3..4) included, nested to any depth; wire
//     types 6 and 7 are errors;
//   - bool is any nonzero 64-bit varint; int32 and enums keep the low 32 bits; oneofs: last wins;
//     a singular message field seen twice merges (no request type has one outside a oneof);
//   - strings are not checked for UTF-8 (etcd 3.4 does not check): invalid bytes become U+FFFD.
// One departure: where a length plus the position overflows Go's int (a length near 2^63), etcd
// 3.4.23's generated code slices out of range and panics; here it is "negative length", as the
// generator's later fix (gogo-protobuf 1.3.2, CVE-2021-3121) answers.
//
// Nested messages are decoded with an explicit stack, not recursion: a Txn nested thousands deep
// decodes like a flat one (its depth is bounded only by its length, as in Go).
//
// The result has proto-loader's shape for {keepCase, longs: Number, enums: Number, bytes: Buffer,
// defaults: true, oneofs: true}, except that lease IDs (schema.ts LEASE_ID_FIELDS) are exact bigints.

import { EMPTY_BYTES, FieldKind, type FieldSpec, type MessageSpec } from './schema.js';

/** A request that etcd would refuse to unmarshal; the message is gogo's error text. */
export class WireFormatError extends Error {}

const UNEXPECTED_EOF = 'unexpected EOF';
const INTEGER_OVERFLOW = 'proto: integer overflow';
const NEGATIVE_LENGTH = 'proto: negative length found during unmarshaling';
const TWO_POW_32 = 4294967296;
/** What the stack holds between decodes, so it keeps no request alive. */
const EMPTY_OBJECT: Record<string, unknown> = {};

// The decoder's cursor and last varint, module-level so that reading a field allocates nothing.
// decode() is synchronous and not re-entrant, so one cursor suffices.
let buf: Buffer = EMPTY_BYTES;
let pos = 0;
/** The last varint read: its low and high 32 bits, unsigned. */
let low = 0;
let high = 0;

// The stack of messages being decoded: type, object, and where each ends.
const stackSpecs: MessageSpec[] = [];
const stackObjects: Record<string, unknown>[] = [];
const stackEnds: number[] = [];

/** Reads a 64-bit varint bounded by `end` into low/high, as gogo reads one. */
function readVarint(end: number): void {
  let lo = 0;
  let hi = 0;
  for (let i = 0; ; i++) {
    if (i >= 10) throw new WireFormatError(INTEGER_OVERFLOW);
    if (pos >= end) throw new WireFormatError(UNEXPECTED_EOF);
    const b = buf[pos++];
    const bits = b & 0x7f;
    if (i < 4) lo |= bits << (7 * i);
    else if (i === 4) {
      lo |= (bits & 0x0f) << 28;
      hi = bits >>> 4;
    } else if (i < 9) hi |= bits << (7 * i - 32);
    else hi |= (bits & 1) << 31;
    if (b < 0x80) break;
  }
  low = lo >>> 0;
  high = hi >>> 0;
}

/** Reads a length and checks it against `end`: where the value it prefixes ends. */
function readLengthEnd(end: number): number {
  readVarint(end);
  // Go reads the length as a signed 64-bit int.
  if (high >= 0x80000000) throw new WireFormatError(NEGATIVE_LENGTH);
  // pos + length past 2^63: etcd 3.4.23 panics here; gogo 1.3.2 answers "negative length".
  if (high === 0x7fffffff && low >= TWO_POW_32 - pos) throw new WireFormatError(NEGATIVE_LENGTH);
  if (high !== 0 || low > end - pos) throw new WireFormatError(UNEXPECTED_EOF);
  return pos + low;
}

function int64Value(): number {
  // Exactly protobufjs's LongBits.toNumber, so numbers round as proto-loader's do.
  if (high >>> 31) {
    const lo = (~low + 1) >>> 0;
    let hi = ~high >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    return -(lo + hi * TWO_POW_32);
  }
  return low + high * TWO_POW_32;
}

function leaseIdValue(): bigint {
  if (high === 0) return BigInt(low);
  return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low));
}

/** The value of a varint field, as proto-loader shapes it (lease IDs as bigint). */
function varintValue(kind: FieldKind): unknown {
  switch (kind) {
    case FieldKind.Int64:
      return int64Value();
    case FieldKind.Uint64:
      return low + high * TWO_POW_32;
    case FieldKind.Int32:
      return low | 0;
    case FieldKind.Uint32:
      return low;
    case FieldKind.Bool:
      return (low | high) !== 0;
    default:
      return leaseIdValue();
  }
}

/** A new object with proto-loader's defaults: oneof members absent, messages null, lists empty. */
function withDefaults(spec: MessageSpec): Record<string, unknown> {
  // Copying a template is one fast clone in V8; only the lists must be new objects.
  const object: Record<string, unknown> = { ...spec.defaults };
  const lists = spec.repeatedNames;
  for (let i = 0; i < lists.length; i++) object[lists[i]] = [];
  return object;
}

/** Sets a singular field; a oneof member replaces whichever member was set before. */
function setField(object: Record<string, unknown>, field: FieldSpec, value: unknown): void {
  const oneof = field.oneof;
  if (oneof !== null) {
    const previous = object[oneof] as string | undefined;
    if (previous !== undefined && previous !== field.name) delete object[previous];
    object[oneof] = field.name;
  }
  object[field.name] = value;
}

/** Skips an unknown field whose tag was just read, groups included (gogo's skip). */
function skipField(wireType: number, end: number): void {
  let depth = 0;
  for (;;) {
    switch (wireType) {
      case 0:
        readVarint(end);
        break;
      case 1:
        pos += 8;
        if (pos > end) throw new WireFormatError(UNEXPECTED_EOF);
        break;
      case 2:
        pos = readLengthEnd(end);
        break;
      case 3:
        depth++;
        break;
      case 4:
        depth--;
        break;
      case 5:
        pos += 4;
        if (pos > end) throw new WireFormatError(UNEXPECTED_EOF);
        break;
      default:
        throw new WireFormatError(`proto: illegal wireType ${wireType}`);
    }
    if (depth === 0) return;
    readVarint(end);
    wireType = low & 7;
  }
}

function wireValue(): bigint {
  return (BigInt(high) << 32n) | BigInt(low);
}

/**
 * Decodes `bytes` as the message `spec` describes. Throws WireFormatError, with the text etcd's
 * decoder gives, for anything etcd 3.4 refuses.
 */
export function decodeStrict(spec: MessageSpec, bytes: Buffer): Record<string, unknown> {
  buf = bytes;
  pos = 0;
  const result = withDefaults(spec);
  let depth = 0;
  let deepest = 0;
  stackSpecs[0] = spec;
  stackObjects[0] = result;
  stackEnds[0] = bytes.length;
  let current = spec;
  let object = result;
  let end = bytes.length;
  try {
    for (;;) {
      if (pos >= end) {
        if (depth === 0) return result;
        depth--;
        current = stackSpecs[depth];
        object = stackObjects[depth];
        end = stackEnds[depth];
        continue;
      }
      // The tag. Most are one byte.
      const first = buf[pos];
      if (first < 0x80) {
        pos++;
        low = first;
        high = 0;
      } else readVarint(end);
      const wireType = low & 7;
      if (wireType === 4) throw new WireFormatError(`proto: ${current.goName}: wiretype end group for non-group`);
      const fieldNumber = (low >>> 3) | (high << 29);
      if (fieldNumber <= 0) throw new WireFormatError(`proto: ${current.goName}: illegal tag ${fieldNumber} (wire type ${wireValue()})`);
      const field = current.byNumber[fieldNumber];
      if (field === undefined) {
        skipField(wireType, end);
        continue;
      }
      if (wireType !== field.wireType && !(field.packable && wireType === 2)) {
        throw new WireFormatError(`proto: wrong wireType = ${wireType} for field ${field.goName}`);
      }
      const kind = field.kind;
      if (wireType === 0) {
        readVarint(end);
        if (field.repeated) (object[field.name] as unknown[]).push(varintValue(kind));
        else setField(object, field, varintValue(kind));
        continue;
      }
      const valueEnd = readLengthEnd(end);
      if (kind === FieldKind.Bytes || kind === FieldKind.String) {
        const value = kind === FieldKind.Bytes ? buf.subarray(pos, valueEnd) : buf.toString('utf8', pos, valueEnd);
        pos = valueEnd;
        if (field.repeated) (object[field.name] as unknown[]).push(value);
        else setField(object, field, value);
      } else if (kind === FieldKind.Message) {
        const childSpec = field.message!;
        let child: Record<string, unknown>;
        if (field.repeated) {
          child = withDefaults(childSpec);
          (object[field.name] as unknown[]).push(child);
        } else if (field.oneof === null && object[field.name] !== null) {
          // Go merges a singular message field seen twice.
          child = object[field.name] as Record<string, unknown>;
        } else {
          child = withDefaults(childSpec);
          setField(object, field, child);
        }
        stackEnds[depth] = end;
        depth++;
        if (depth > deepest) deepest = depth;
        stackSpecs[depth] = childSpec;
        stackObjects[depth] = child;
        current = childSpec;
        object = child;
        end = valueEnd;
      } else {
        // Packed varints. As in gogo, each is bounded by the message's end, not the packed run's.
        const list = object[field.name] as unknown[];
        while (pos < valueEnd) {
          readVarint(end);
          list.push(varintValue(kind));
        }
      }
    }
  } finally {
    // Let go of the request and its objects.
    buf = EMPTY_BYTES;
    for (let i = 0; i <= deepest; i++) stackObjects[i] = EMPTY_OBJECT;
  }
}
