// The strict request decoder against gogo-protobuf's rules (etcd 3.4's decoder). Every expected
// error text below is what etcd 3.4.23 answered for the same bytes, probed by hand.

import { describe, expect, it } from 'vitest';
import { MalformedRequest, strictDeserializer } from '../../src/api/wire/strict-services.js';

const PUT = '/etcdserverpb.KV/Put';
const TXN = '/etcdserverpb.KV/Txn';

function decode(path: string, hex: string): any {
  return strictDeserializer(path)(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
}

function refusal(path: string, hex: string): string {
  const result = decode(path, hex);
  expect(result).toBeInstanceOf(MalformedRequest);
  return (result as MalformedRequest).reason;
}

/** A varint of any 64-bit value (two's complement for negatives), as Go encodes it. */
function varint(value: bigint): string {
  let v = BigInt.asUintN(64, value);
  const bytes: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    bytes.push(v === 0n ? low : low | 0x80);
  } while (v !== 0n);
  return Buffer.from(bytes).toString('hex');
}

describe('refused as gogo refuses', () => {
  it.each([
    ['a length of 2^62', `0a016b 12 ${varint(2n ** 62n)}`, 'unexpected EOF'],
    ['a length past the end', '0a016b 1205 6161', 'unexpected EOF'],
    ['a negative length', `0a ${varint(-1n)}`, 'proto: negative length found during unmarshaling'],
    ['a length whose end overflows 2^63', `0a016b 12 ${varint(2n ** 63n - 1n)}`, 'proto: negative length found during unmarshaling'],
    ['a truncated varint', '0a016b 18ff', 'unexpected EOF'],
    ['an 11-byte tag', '8080808080808080808001', 'proto: integer overflow'],
    ['a 10-byte tag still continuing at the end', '80808080808080808080', 'proto: integer overflow'],
    ['an 11-byte bool', '20 8080808080808080808001', 'proto: integer overflow'],
    ['an 11-byte length', '0a 8080808080808080808001', 'proto: integer overflow'],
    ['field number 0', '02016b', 'proto: PutRequest: illegal tag 0 (wire type 2)'],
    ['a field number negative as Go int32', '8280808040 016b', 'proto: PutRequest: illegal tag -2147483648 (wire type 17179869186)'],
    ['end group at the top', '0c', 'proto: PutRequest: wiretype end group for non-group'],
    ['bytes field sent as fixed64', '09016b', 'proto: wrong wireType = 1 for field Key'],
    ['int64 field sent length-delimited', '1a00', 'proto: wrong wireType = 2 for field Lease'],
    ['known field with wire type 6', '1e', 'proto: wrong wireType = 6 for field Lease'],
    ['known field as a group', '1b', 'proto: wrong wireType = 3 for field Lease'],
    ['unknown field with wire type 6', '0a016b 3e', 'proto: illegal wireType 6'],
    ['unknown field with wire type 7', '0a016b 3f', 'proto: illegal wireType 7'],
    ['unknown fixed32 past the end', '0a016b 3d0000', 'unexpected EOF'],
    ['unknown fixed64 past the end', '0a016b 39000000', 'unexpected EOF'],
    ['an unterminated unknown group', '0a016b a301 0801', 'unexpected EOF'],
    ['a negative length inside an unknown group', `a301 0a ${varint(-5n)} a401`, 'proto: negative length found during unmarshaling'],
  ])('%s', (_name, hex, reason) => {
    expect(refusal(PUT, hex)).toBe(reason);
  });

  it('names the nested type and field', () => {
    // TxnRequest{compare: [Compare{result: <length-delimited>}]}
    expect(refusal(TXN, '0a02 0a00')).toBe('proto: wrong wireType = 2 for field Result');
    expect(refusal(TXN, '0a01 0c')).toBe('proto: Compare: wiretype end group for non-group');
    // A nested message's length past its parent's end.
    expect(refusal(TXN, '1203 0a0500')).toBe('unexpected EOF');
  });

  it('refuses a malformed message on the stream services too', () => {
    expect(refusal('/etcdserverpb.Lease/LeaseKeepAlive', '09')).toBe('proto: wrong wireType = 1 for field ID');
    expect(refusal('/etcdserverpb.Watch/Watch', '0a0a 0a016b')).toBe('unexpected EOF');
  });
});

describe('read as gogo reads', () => {
  it('a bool is any nonzero 64-bit varint: 2^40 and 2^63 are true', () => {
    expect(decode(PUT, `0a016b 20 ${varint(2n ** 40n)}`).prev_kv).toBe(true);
    expect(decode(PUT, `0a016b 20 ${varint(2n ** 63n)}`).prev_kv).toBe(true);
    // Bits past the 64th are dropped, as Go's shift drops them.
    expect(decode(PUT, '0a016b 20 80808080808080808002').prev_kv).toBe(false);
  });

  it('enums keep the low 32 bits, as a Go int32', () => {
    expect(decode('/etcdserverpb.KV/Range', `0a016b 28 ${varint(2n ** 32n + 1n)}`).sort_order).toBe(1);
    expect(decode('/etcdserverpb.KV/Range', `0a016b 28 ${varint(-1n)}`).sort_order).toBe(-1);
  });

  it('the field number is the tag bits 3..34 as Go int32 (2^32 + 1 is field 1)', () => {
    const tag = varint(((2n ** 32n + 1n) << 3n) | 2n);
    expect(decode(PUT, `${tag} 016b`).key).toEqual(Buffer.from('k'));
    // Field 2^29 + 2 is unknown to Go, though its low 32 bits say field 2: skipped.
    expect(decode('/etcdserverpb.KV/DeleteRange', '0a0161 9280808010 0100').range_end).toEqual(Buffer.alloc(0));
  });

  it('skips unknown fields of every wire type, nested groups included', () => {
    const unknown = [
      '3801', // field 7 varint
      `38 ${varint(-1n)}`,
      '390102030405060708', // fixed64
      '3d01020304', // fixed32
      '3a03616263', // length-delimited
      'a301 0801 110200000000000000 1a00 ab01 0800 ac01 0d01020304 a401', // group with a nested group
      'a301 0001 03 04 a401', // field number 0 inside a group is fine, as in gogo
    ].join('');
    const request = decode(PUT, `0a016b ${unknown} 1201 76 ${unknown} 2001`);
    expect(request).toEqual({ key: Buffer.from('k'), value: Buffer.from('v'), lease: 0n, prev_kv: true, ignore_value: false, ignore_lease: false });
  });

  it('repeated enums arrive packed or unpacked, mixed', () => {
    // WatchRequest{create_request: {key: "k", filters: packed [1, 0], prev_kv: true}}
    const request = decode('/etcdserverpb.Watch/Watch', '0a09 0a016b 2a020100 3001');
    expect(request.create_request.filters).toEqual([1, 0]);
    expect(request.create_request.prev_kv).toBe(true);
    // Unpacked 1, then packed [0, 1]; unpacked 1, 0.
    expect(decode('/etcdserverpb.Watch/Watch', '0a09 0a016b 2801 2a020001').create_request.filters).toEqual([1, 0, 1]);
    expect(decode('/etcdserverpb.Watch/Watch', '0a07 0a016b 2801 2800').create_request.filters).toEqual([1, 0]);
  });

  it('a oneof keeps the last member set', () => {
    // RequestOp{request_range: {key: "a"}, request_put: {key: "b"}}
    const request = decode(TXN, '120a 0a03 0a0161 1203 0a0162');
    expect(request.success[0]).toEqual({ request_put: { key: Buffer.from('b'), value: Buffer.alloc(0), lease: 0n, prev_kv: false, ignore_value: false, ignore_lease: false }, request: 'request_put' });
  });

  it('decodes a Txn nested 50 and 20,000 deep', () => {
    for (const depth of [50, 20_000]) {
      // RequestOp{request_txn: TxnRequest{success: [RequestOp{...}]}} built from the inside out.
      let op = Buffer.from('0a030a0178', 'hex'); // RequestOp{request_range: {key: "x"}}
      for (let i = 0; i < depth; i++) {
        const txn = Buffer.concat([Buffer.from([0x12]), Buffer.from(varint(BigInt(op.length)), 'hex'), op]);
        op = Buffer.concat([Buffer.from([0x22]), Buffer.from(varint(BigInt(txn.length)), 'hex'), txn]);
      }
      const bytes = Buffer.concat([Buffer.from([0x12]), Buffer.from(varint(BigInt(op.length)), 'hex'), op]);
      let txn = strictDeserializer(TXN)(bytes) as any;
      for (let i = 0; i < depth; i++) txn = txn.success[0].request_txn;
      expect(txn.success[0].request_range.key).toEqual(Buffer.from('x'));
    }
  });

  it('strings are not checked for UTF-8: invalid bytes become U+FFFD', () => {
    const request = decode('/etcdserverpb.Cluster/MemberAdd', '0a03 61ff62');
    expect(request.peerURLs).toEqual(['a\ufffdb']);
  });
});

describe('lease IDs are exact 64-bit integers', () => {
  const ids = [0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 62n + 12345n, -(2n ** 53n) - 3n];

  it.each(ids)('%s', (id) => {
    const v = varint(id);
    expect(decode(PUT, `0a016b 18 ${v}`).lease).toBe(id);
    expect(decode('/etcdserverpb.Lease/LeaseGrant', `0805 10 ${v}`).ID).toBe(id);
    expect(decode('/etcdserverpb.Lease/LeaseRevoke', `08 ${v}`).ID).toBe(id);
    expect(decode('/etcdserverpb.Lease/LeaseKeepAlive', `08 ${v}`).ID).toBe(id);
    expect(decode('/etcdserverpb.Lease/LeaseTimeToLive', `08 ${v} 1001`).ID).toBe(id);
    // TxnRequest{compare: [Compare{target: LEASE, key: "k", lease: id}]}
    const compare = `1004 1a016b 40 ${v}`;
    const txn = decode(TXN, `0a ${varint(BigInt(compare.replace(/\s+/g, '').length / 2))} ${compare}`);
    expect(txn.compare[0].lease).toBe(id);
    expect(txn.compare[0].target_union).toBe('lease');
  });

  it('an absent lease ID is 0n; other int64 fields stay numbers, rounded as proto-loader rounds them', () => {
    expect(decode(PUT, '0a016b').lease).toBe(0n);
    expect(decode('/etcdserverpb.KV/Range', `0a016b 20 ${varint(2n ** 53n + 1n)}`).revision).toBe(2 ** 53);
    expect(decode('/etcdserverpb.KV/Range', `0a016b 20 ${varint(-1n)}`).revision).toBe(-1);
    expect(decode('/etcdserverpb.Cluster/MemberRemove', `08 ${varint(2n ** 64n - 1n)}`).ID).toBe(2 ** 64);
  });
});
