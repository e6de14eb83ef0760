// Protobuf wire format by hand, for requests a normal encoder refuses to write: over-long varints,
// wrong wire types, lengths that lie. Also a lenient top-level decoder for summarising answers.

export const WireType = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/** The canonical varint of `value` taken as an unsigned 64-bit number (negatives wrap, as int64 does). */
export function varint(value: bigint | number): Buffer {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0n);
  return Buffer.from(out);
}

/**
 * The varint of `value` padded to `lengthBytes` bytes with zero-valued continuation groups. Up to
 * 10 bytes a decoder must accept it; past 10 it is malformed.
 */
export function paddedVarint(value: bigint | number, lengthBytes: number): Buffer {
  const canonical = [...varint(value)];
  if (lengthBytes <= canonical.length) return Buffer.from(canonical);
  const out = canonical.map((byte) => byte | 0x80);
  while (out.length < lengthBytes - 1) out.push(0x80);
  out.push(0x00);
  return Buffer.from(out);
}

export function tag(field: number, wireType: number): Buffer {
  return varint((BigInt(field) << 3n) | BigInt(wireType));
}

export function varintField(field: number, value: bigint | number | boolean): Buffer {
  return Buffer.concat([tag(field, WireType.varint), varint(typeof value === 'boolean' ? (value ? 1 : 0) : value)]);
}

export function bytesField(field: number, value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([tag(field, WireType.bytes), varint(body.length), body]);
}

export function fixed64Field(field: number, value: bigint): Buffer {
  const body = Buffer.alloc(8);
  body.writeBigUInt64LE(BigInt.asUintN(64, value));
  return Buffer.concat([tag(field, WireType.fixed64), body]);
}

export function fixed32Field(field: number, value: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32LE(value >>> 0);
  return Buffer.concat([tag(field, WireType.fixed32), body]);
}

/** One gRPC length-prefixed message: compressed flag, 4-byte big-endian length, body. */
export function grpcFrame(body: Buffer, compressed = false, declaredLength = body.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([prefix, body]);
}

export interface DecodedField {
  readonly field: number;
  readonly wireType: number;
  /** A varint or fixed value, or a length-delimited body. */
  readonly value: bigint | Buffer;
}

/** Top-level fields of a message, or null where it is not well-formed protobuf. */
export function decodeFields(body: Buffer): DecodedField[] | null {
  const fields: DecodedField[] = [];
  let at = 0;
  const readVarint = (): bigint | null => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= body.length) return null;
      const byte = body[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    return null;
  };
  while (at < body.length) {
    const key = readVarint();
    if (key === null) return null;
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === WireType.varint) {
      const value = readVarint();
      if (value === null) return null;
      fields.push({ field, wireType, value });
    } else if (wireType === WireType.bytes) {
      const length = readVarint();
      if (length === null || length > BigInt(body.length - at)) return null;
      fields.push({ field, wireType, value: body.subarray(at, at + Number(length)) });
      at += Number(length);
    } else if (wireType === WireType.fixed64 || wireType === WireType.fixed32) {
      const size = wireType === WireType.fixed64 ? 8 : 4;
      if (at + size > body.length) return null;
      const value = size === 8 ? body.readBigUInt64LE(at) : BigInt(body.readUInt32LE(at));
      fields.push({ field, wireType, value });
      at += size;
    } else {
      return null;
    }
  }
  return fields;
}
