// RangeResponses encoded as the store hands the kvs over (src/mvcc/range-sink.ts), straight into
// one buffer: each value is read from disk, copied into the answer and dropped, so a large answer
// exists once, as its encoding, rather than as KeyValue objects holding every value, then plain
// objects for proto-loader, then the encoding. The buffer is sized up front from the index (it
// knows every key's and value's length), with room left at its front for the header, which is
// written last (its revision comes from the same read).
//
// As etcd's marshaller does, fields at their zero value (an empty value, lease 0, more false,
// count 0) are left out; proto-loader would write them. Both decode to the same message.
//
// The KV service's Range response serializer passes such a Buffer through unchanged (see
// acceptPreEncodedRangeResponses).

import type { ServiceDefinition } from '@grpc/grpc-js';
import type { RangeSink, ResponseHeader } from '../server/servers.js';

type Serialize = (value: object) => Buffer;

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const tag = (field: number, wire: number): number => (field << 3) | wire;

/** RangeResponse: header = 1, kvs = 2, more = 3, count = 4. */
const RANGE_HEADER = tag(1, WIRE_BYTES);
const RANGE_KVS = tag(2, WIRE_BYTES);
const RANGE_MORE = tag(3, WIRE_VARINT);
const RANGE_COUNT = tag(4, WIRE_VARINT);
/** mvccpb.KeyValue: key = 1, create_revision = 2, mod_revision = 3, version = 4, value = 5, lease = 6. */
const KV_KEY = tag(1, WIRE_BYTES);
const KV_CREATE_REVISION = tag(2, WIRE_VARINT);
const KV_MOD_REVISION = tag(3, WIRE_VARINT);
const KV_VERSION = tag(4, WIRE_VARINT);
const KV_VALUE = tag(5, WIRE_BYTES);
const KV_LEASE = tag(6, WIRE_VARINT);
/** ResponseHeader: cluster_id = 1, member_id = 2, revision = 3, raft_term = 4. */
const HEADER_FIELDS = [tag(1, WIRE_VARINT), tag(2, WIRE_VARINT), tag(3, WIRE_VARINT), tag(4, WIRE_VARINT)] as const;

const VARINT_BYTES_MAX = 10;
/** A header field: tag, length, and four tagged varints. */
const HEADER_ROOM_BYTES = 2 + 4 * (1 + VARINT_BYTES_MAX);
/** What a kv adds to its key and value: its own tag and length, and the tags and lengths inside. */
const KV_OVERHEAD_BYTES_MAX = 1 + VARINT_BYTES_MAX + 2 * (1 + VARINT_BYTES_MAX) + 4 * (1 + VARINT_BYTES_MAX);
/** more and count. */
const TAIL_BYTES_MAX = 2 * (1 + VARINT_BYTES_MAX);

const plainEncoders = new WeakMap<object, Serialize>();

/** Makes the KV service's Range responses accept pre-encoded Buffers (once). */
export function acceptPreEncodedRangeResponses(service: ServiceDefinition): void {
  const method = service.Range as unknown as { responseSerialize: Serialize };
  if (plainEncoders.has(method)) return;
  const plain = method.responseSerialize;
  method.responseSerialize = (value: object) => (Buffer.isBuffer(value) ? value : plain(value));
  plainEncoders.set(method, plain);
}

/** Bytes of `value` (a non-negative integer below 2^53) as a varint. */
function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

function bigVarintBytes(value: bigint): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80n; rest >>= 7n) bytes++;
  return bytes;
}

/** One RangeResponse, its kvs handed over by the store as a RangeSink. */
export class RangeResponseEncoder implements RangeSink {
  private buffer: Buffer = Buffer.allocUnsafe(HEADER_ROOM_BYTES + TAIL_BYTES_MAX);
  private offset = HEADER_ROOM_BYTES;

  reserve(kvCount: number, keyAndValueBytes: number): void {
    this.ensure(keyAndValueBytes + kvCount * KV_OVERHEAD_BYTES_MAX + TAIL_BYTES_MAX);
  }

  add(keyLatin1: string, createRevision: number, modRevision: number, version: number, lease: bigint, value: Uint8Array): void {
    const keyBytes = keyLatin1.length;
    // An int64 lease ID is written as its unsigned 64 bits: a negative ID takes 10 bytes.
    const leaseBits = BigInt.asUintN(64, lease);
    let inner = 1 + varintBytes(keyBytes) + keyBytes;
    if (createRevision !== 0) inner += 1 + varintBytes(createRevision);
    if (modRevision !== 0) inner += 1 + varintBytes(modRevision);
    if (version !== 0) inner += 1 + varintBytes(version);
    if (value.byteLength > 0) inner += 1 + varintBytes(value.byteLength) + value.byteLength;
    if (leaseBits !== 0n) inner += 1 + bigVarintBytes(leaseBits);
    this.ensure(1 + varintBytes(inner) + inner + TAIL_BYTES_MAX);

    this.byte(RANGE_KVS);
    this.varint(inner);
    this.byte(KV_KEY);
    this.varint(keyBytes);
    this.offset += this.buffer.write(keyLatin1, this.offset, 'latin1');
    if (createRevision !== 0) this.field(KV_CREATE_REVISION, createRevision);
    if (modRevision !== 0) this.field(KV_MOD_REVISION, modRevision);
    if (version !== 0) this.field(KV_VERSION, version);
    if (value.byteLength > 0) {
      this.byte(KV_VALUE);
      this.varint(value.byteLength);
      this.buffer.set(value, this.offset);
      this.offset += value.byteLength;
    }
    if (leaseBits !== 0n) {
      this.byte(KV_LEASE);
      for (let rest = leaseBits; ; rest >>= 7n) {
        if (rest < 0x80n) {
          this.byte(Number(rest));
          break;
        }
        this.byte(Number(rest & 0x7fn) | 0x80);
      }
    }
  }

  /** The whole RangeResponse: the header written into the room left for it, then the kvs, more and count. */
  finish(responseHeader: ResponseHeader, more: boolean, count: number): Buffer {
    this.ensure(TAIL_BYTES_MAX);
    if (more) this.field(RANGE_MORE, 1);
    if (count !== 0) this.field(RANGE_COUNT, count);
    const end = this.offset;
    const { clusterId, memberId, revision, raftTerm } = responseHeader;
    const values = [clusterId, memberId, revision, raftTerm];
    let inner = 0;
    for (const value of values) if (value !== 0) inner += 1 + varintBytes(value);
    const start = HEADER_ROOM_BYTES - (2 + inner);
    this.offset = start;
    this.byte(RANGE_HEADER);
    this.varint(inner); // below 0x80: one byte, as HEADER_ROOM_BYTES assumes
    values.forEach((value, i) => {
      if (value !== 0) this.field(HEADER_FIELDS[i]!, value);
    });
    return this.buffer.subarray(start, end);
  }

  private ensure(more: number): void {
    if (this.offset + more <= this.buffer.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(this.offset + more, this.buffer.byteLength * 2));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  private byte(value: number): void {
    this.buffer[this.offset++] = value;
  }

  private field(fieldTag: number, value: number): void {
    this.byte(fieldTag);
    this.varint(value);
  }

  private varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.byte((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.byte(rest);
  }
}
