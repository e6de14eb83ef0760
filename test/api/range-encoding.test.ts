// Range answers encoded as the store hands the kvs over: the same message as encoding the whole
// answer through proto-loader, with etcd's zero-valued fields left out.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { services } from '../../src/api/protos.js';
import { RangeResponseEncoder, acceptPreEncodedRangeResponses } from '../../src/api/range-encoding.js';
import { header, keyValue } from '../../src/api/handlers.js';
import { SortOrder, SortTarget, type RangeOptions } from '../../src/mvcc/mvcc-store.js';
import { b, openStore } from '../mvcc/helpers.js';

type Codec = { responseSerialize: (v: object) => Buffer; responseDeserialize: (b: Buffer) => object };
const method = (services.KV.service as unknown as { Range: Codec }).Range;
const plain = method.responseSerialize;
acceptPreEncodedRangeResponses(services.KV.service);
const decode = (bytes: Buffer): object => method.responseDeserialize(bytes);
const responseHeader = { clusterId: 2 ** 52 + 3, memberId: 17, revision: 0, raftTerm: 300 };

async function storeWithHistory() {
  const store = await openStore();
  const txn = store.write();
  txn.put(b('a'), b('first'), 0n);
  txn.put(Buffer.from([0x6b, 0xff, 0x80, 0x00]), randomBytes(300), 7n); // a key with bytes above 0x7f
  txn.put(b('empty'), new Uint8Array(0), -5n); // an empty value, a negative lease ID
  txn.put(b('big'), randomBytes(200_000), 2n ** 62n);
  txn.end();
  for (let i = 0; i < 300; i++) {
    const more = store.write();
    more.put(b(`k${String(i).padStart(3, '0')}`), randomBytes(i * 7), BigInt(i % 3));
    more.end();
  }
  return store;
}

describe('RangeResponseEncoder', () => {
  it('encodes what the store hands over as the message proto-loader encodes from the whole answer', async () => {
    const store = await storeWithHistory();
    const asked: Array<[Uint8Array, Uint8Array, RangeOptions]> = [
      [b('a'), new Uint8Array(0), {}],
      [new Uint8Array([0]), new Uint8Array([0]), {}],
      [b('k'), b('l'), { limit: 10 }],
      [b('k'), b('l'), { keysOnly: true }],
      [b('k'), b('l'), { countOnly: true }],
      [b('k'), b('l'), { sortOrder: SortOrder.Descend, sortTarget: SortTarget.Value, limit: 50 }],
      [b('k'), b('l'), { revision: 100 }],
      [b('zzz'), new Uint8Array(0), {}],
    ];
    for (const [key, rangeEnd, options] of asked) {
      const whole = store.range(key, rangeEnd, options);
      const encoder = new RangeResponseEncoder();
      const handed = store.range(key, rangeEnd, { ...options, sink: encoder });
      expect(handed.kvs).toEqual([]);
      const built = encoder.finish({ ...responseHeader, revision: handed.revision }, handed.more, handed.count);
      const expected = plain({
        header: header({ ...responseHeader, revision: whole.revision }),
        kvs: whole.kvs.map((kv) => keyValue(kv, options.keysOnly === true)),
        more: whole.more,
        count: whole.count,
      });
      expect(decode(built)).toEqual(decode(expected));
      // And the serializer passes the encoding through untouched.
      expect(method.responseSerialize(built)).toBe(built);
    }
  });

  it('leaves out the fields etcd leaves out: an empty value, lease 0, more false, count 0, zero header fields', () => {
    const encoder = new RangeResponseEncoder();
    encoder.reserve(1, 1);
    encoder.add('a', 2, 3, 1, 0n, new Uint8Array(0));
    const built = encoder.finish({ clusterId: 1, memberId: 2, revision: 3, raftTerm: 0 }, false, 0);
    // header {1,2,3}, kvs [{key "a", create 2, mod 3, version 1}], nothing else.
    expect(built.toString('hex')).toBe('0a06' + '080110021803' + '1209' + '0a0161' + '100218032001');
  });

  it('grows its buffer past what reserve() was told', () => {
    const encoder = new RangeResponseEncoder();
    encoder.reserve(1, 10);
    const values = [randomBytes(5_000), randomBytes(70_000), randomBytes(3)];
    values.forEach((value, i) => encoder.add(`key${i}`, i + 1, i + 1, 1, 0n, value));
    const decoded = decode(encoder.finish(responseHeader, true, 3)) as { kvs: Array<{ value: Buffer }>; more: boolean; count: number };
    expect(decoded.kvs.map((kv) => Buffer.from(kv.value))).toEqual(values);
    expect([decoded.more, decoded.count]).toEqual([true, 3]);
  });
});
