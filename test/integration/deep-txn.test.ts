// A Txn nested as deep as etcd 3.4 accepts (its ops budget allows 128 levels of one op each) is
// served; one level more gets etcd's InvalidArgument. The requests are encoded by hand: protobufjs
// on the client side refuses to encode past 100 nested messages.

import { Client, credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from '../../src/api/protos.js';
import { allowEtcdNestingInProtoLoader } from '../../src/api/proto-nesting.js';
import { call, TestCluster, type MemberProcess } from './harness.js';

const varint = (value: number): Buffer => {
  const out: number[] = [];
  for (; value > 127; value >>>= 7) out.push((value & 127) | 128);
  out.push(value);
  return Buffer.from(out);
};
const field = (fieldNumber: number, payload: Buffer): Buffer => Buffer.concat([varint((fieldNumber << 3) | 2), varint(payload.length), payload]);

/** A TxnRequest `depth` levels deep, each level's only success op the next, the innermost a put of `key`. */
function nestedTxn(depth: number, key: string): Buffer {
  let txn = field(2, field(2, Buffer.concat([field(1, Buffer.from(key)), field(2, Buffer.from('v'))])));
  for (let level = 1; level < depth; level++) txn = field(2, field(4, txn));
  return txn;
}

describe('a deeply nested Txn', () => {
  let cluster: TestCluster;
  let member: MemberProcess;
  let raw: Client;
  const txn = (body: Buffer): Promise<Buffer> =>
    new Promise((resolve, reject) => raw.makeUnaryRequest('/etcdserverpb.KV/Txn', (b: Buffer) => b, (b: Buffer) => b, body, (error, response) => (error ? reject(error) : resolve(response!))));

  beforeAll(async () => {
    cluster = await TestCluster.start(1);
    [member] = cluster.members;
    raw = new Client(`127.0.0.1:${member.clientPort}`, credentials.createInsecure());
    allowEtcdNestingInProtoLoader(); // to decode the deep response here
  }, 30_000);
  afterAll(async () => {
    raw?.close();
    await cluster?.stop();
  });

  it('is served 50 and 128 levels deep, as etcd serves it', async () => {
    for (const depth of [50, 128]) {
      const response = (services.KV.service.Txn.responseDeserialize as (b: Buffer) => any)(await txn(nestedTxn(depth, `deep${depth}`)));
      let level = response;
      for (let seen = 1; seen < depth; seen++) level = level.responses[0].response_txn;
      expect(level.succeeded).toBe(true);
      expect(level.responses[0].response_put).toBeTruthy();
      expect((await call(cluster.client(member), 'Range', { key: Buffer.from(`deep${depth}`) })).count).toBe(1);
    }
  });

  it('gets etcd’s InvalidArgument one level past the ops budget', async () => {
    await expect(txn(nestedTxn(129, 'too-deep'))).rejects.toMatchObject({ code: 3, details: 'etcdserver: too many operations in txn request' });
  });
});
