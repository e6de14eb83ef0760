// Bad input never crashes a member: each request gets etcd's error and status code, raw garbage on
// the client port is dropped, and the member keeps serving.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, call, type MemberProcess } from './harness.js';

let cluster: TestCluster;
let m1: MemberProcess;

beforeAll(async () => {
  cluster = await TestCluster.start(3, ['--max-request-bytes=65536']);
  [m1] = cluster.members;
}, 60_000);
afterAll(async () => {
  await cluster.stop();
});

const bytes = (text: string): Buffer => Buffer.from(text);

async function expectAllServing(): Promise<void> {
  for (const member of cluster.members) {
    expect(member.process?.exitCode ?? null, `${member.name} exited:\n${member.output.slice(-2000)}`).toBeNull();
    await call(cluster.client(member), 'Put', { key: bytes(`alive-${member.name}`), value: bytes('yes') });
  }
}

const cases: Array<[string, string, object, number, string]> = [
  ['empty key in Put', 'Put', { key: bytes(''), value: bytes('v') }, 3, 'etcdserver: key is not provided'],
  ['empty key in Range', 'Range', { key: bytes('') }, 3, 'etcdserver: key is not provided'],
  ['empty key in DeleteRange', 'DeleteRange', { key: bytes('') }, 3, 'etcdserver: key is not provided'],
  ['value over --max-request-bytes', 'Put', { key: bytes('big'), value: Buffer.alloc(70_000, 1) }, 3, 'etcdserver: request is too large'],
  ['too many txn operations', 'Txn', { compare: Array.from({ length: 129 }, () => ({ key: bytes('k'), target: 0, result: 0, version: 0 })) }, 3, 'etcdserver: too many operations in txn request'],
  ['ignore_value with a value', 'Put', { key: bytes('k'), value: bytes('v'), ignore_value: true }, 3, 'etcdserver: value is provided'],
  ['ignore_lease with a lease', 'Put', { key: bytes('k'), lease: 5, ignore_lease: true }, 3, 'etcdserver: lease is provided'],
  [
    'ignore_value with a value in a Txn, checked before duplicate keys as etcd does',
    'Txn',
    { success: [{ request_put: { key: bytes('k'), value: bytes('v'), ignore_value: true } }, { request_put: { key: bytes('k') } }] },
    3,
    'etcdserver: value is provided',
  ],
  ['a future revision', 'Range', { key: bytes('k'), revision: 1_000_000 }, 11, 'etcdserver: mvcc: required revision is a future revision'],
  ['a future compaction', 'Compact', { revision: 1_000_000 }, 11, 'etcdserver: mvcc: required revision is a future revision'],
];

describe('bad input', () => {
  it.each(cases)('%s gets etcd’s error', async (_name, method, request, code, details) => {
    await expect(call(cluster.client(m1), method, request)).rejects.toMatchObject({ code, details });
  });

  it('a compacted revision gets OutOfRange', async () => {
    const first = await call(cluster.client(m1), 'Put', { key: bytes('k'), value: bytes('1') });
    const second = await call(cluster.client(m1), 'Put', { key: bytes('k'), value: bytes('2') });
    await call(cluster.client(m1), 'Compact', { revision: Number(second.header.revision) });
    await expect(call(cluster.client(m1), 'Range', { key: bytes('k'), revision: Number(first.header.revision) })).rejects.toMatchObject({
      code: 11,
      details: 'etcdserver: mvcc: required revision has been compacted',
    });
  });

  it('MemberAdd refuses a peer URL with a path, as etcd does, and every member keeps serving', async () => {
    for (const url of ['http://127.0.0.1:9999/some/path', 'http://127.0.0.1:9999/', 'http://127.0.0.1', 'ftp://127.0.0.1:9999']) {
      await expect(call(cluster.client(m1, 'Cluster'), 'MemberAdd', { peerURLs: [url], isLearner: true })).rejects.toMatchObject({
        code: 3,
        details: 'etcdserver: given member URLs are invalid',
      });
    }
    await expectAllServing();
  });

  it('MemberAdd accepts a query and user info in a peer URL, as etcd does, and ignores them when dialling', async () => {
    for (const url of ['http://127.0.0.1:9998?x=1', 'http://u:p@127.0.0.1:9997']) {
      const added = await call(cluster.client(m1, 'Cluster'), 'MemberAdd', { peerURLs: [url], isLearner: true });
      expect(added.member.peerURLs).toEqual([url]);
      await expectAllServing();
      await call(cluster.client(m1, 'Cluster'), 'MemberRemove', { ID: added.member.ID });
    }
    await expectAllServing();
  });

  it('survives garbage bytes on the client port and keeps serving', async () => {
    for (const garbage of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.alloc(4096, 0xff), Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x01\xff\xff\xff\xff')]) {
      await new Promise<void>((resolve) => {
        const socket = connect(m1.clientPort, '127.0.0.1', () => socket.end(garbage));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.setTimeout(2000, () => socket.destroy());
      });
    }
    await call(cluster.client(m1), 'Put', { key: bytes('after-garbage'), value: bytes('ok') });
    const read = await call(cluster.client(m1), 'Range', { key: bytes('after-garbage') });
    expect(read.kvs[0].value.toString()).toBe('ok');
    expect(m1.process?.exitCode).toBeNull();
  });
});
