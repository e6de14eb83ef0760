// Malformed protobuf on the client port, sent as raw gRPC frames over HTTP/2: each request is
// refused whole with etcd 3.4's status and text (probed on etcd 3.4.23 with the same bytes), never
// applied as a different request, and the member keeps serving.

import { connect, type ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawCall as sendRaw, type GrpcOutcome } from '../support/raw-grpc.js';
import { TestCluster, call, type MemberProcess } from './harness.js';

let cluster: TestCluster;
let m1: MemberProcess;
let session: ClientHttp2Session;

beforeAll(async () => {
  cluster = await TestCluster.start(1);
  [m1] = cluster.members;
  session = connect(`http://127.0.0.1:${m1.clientPort}`);
  session.on('error', () => {});
}, 60_000);
afterAll(async () => {
  session?.close();
  await cluster.stop();
});

/** One raw gRPC call on the shared session. */
const rawCall = (path: string, messages: string[]): Promise<GrpcOutcome> => sendRaw(session, path, messages);

const text = (s: string): Buffer => Buffer.from(s);

async function valueOf(key: string): Promise<string | null> {
  const read = await call(cluster.client(m1), 'Range', { key: text(key) });
  return read.kvs.length === 0 ? null : read.kvs[0].value.toString();
}

async function stillServes(): Promise<void> {
  await call(cluster.client(m1), 'Put', { key: text('alive'), value: text(String(Date.now())) });
  expect(m1.process?.exitCode).toBeNull();
}

describe('malformed requests', () => {
  it('a Put whose value length says 2^62 is refused and does not overwrite the key', async () => {
    await call(cluster.client(m1), 'Put', { key: text('k'), value: text('original') });
    // PutRequest{key: "k", value: <length 2^62>} and one more byte: protobufjs read the length as 0.
    const outcome = await rawCall('/etcdserverpb.KV/Put', ['0a016b 12 808080808080808040 00']);
    expect(outcome).toMatchObject({ status: 13, message: 'grpc: error unmarshalling request: unexpected EOF' });
    expect(await valueOf('k')).toBe('original');
    await stillServes();
  });

  it.each([
    ['a wrong wire type', '09016b 1201 76', 'grpc: error unmarshalling request: proto: wrong wireType = 1 for field Key'],
    ['an 11-byte tag', '8080808080808080808001', 'grpc: error unmarshalling request: proto: integer overflow'],
    ['field number 0', '02016b', 'grpc: error unmarshalling request: proto: PutRequest: illegal tag 0 (wire type 2)'],
    ['an end-group tag', '0a016b 1201 76 0c', 'grpc: error unmarshalling request: proto: PutRequest: wiretype end group for non-group'],
    ['a negative length', '0a016b 12 ffffffffffffffffff01', 'grpc: error unmarshalling request: proto: negative length found during unmarshaling'],
  ])('a Put with %s is refused with etcd’s text', async (_name, hex, message) => {
    await call(cluster.client(m1), 'Put', { key: text('k'), value: text('original') });
    expect(await rawCall('/etcdserverpb.KV/Put', [hex])).toMatchObject({ status: 13, message });
    expect(await valueOf('k')).toBe('original');
    await stillServes();
  });

  it('a DeleteRange with a 5-byte tag deletes only what etcd deletes', async () => {
    for (const key of ['dr/a', 'dr/b', 'dr/c']) await call(cluster.client(m1), 'Put', { key: text(key), value: text('v') });
    // DeleteRangeRequest{key: "dr/a"} and field 2^29 + 2 = "\0": unknown to etcd, which skips it.
    // Read as 32 bits, that tag was field 2 (range_end "\0": every key from dr/a on).
    const outcome = await rawCall('/etcdserverpb.KV/DeleteRange', ['0a04 64722f61 9280808010 0100']);
    expect(outcome.status).toBe(0);
    expect(await valueOf('dr/a')).toBeNull();
    expect(await valueOf('dr/b')).toBe('v');
    expect(await valueOf('dr/c')).toBe('v');
  });

  it('a bool sent as the varint 2^40 is true (prev_kv comes back)', async () => {
    await call(cluster.client(m1), 'Put', { key: text('b'), value: text('1') });
    // PutRequest{key: "b", value: "2", prev_kv: 2^40}
    const outcome = await rawCall('/etcdserverpb.KV/Put', ['0a0162 120132 20 808080808020']);
    expect(outcome.status).toBe(0);
    // The answer carries prev_kv {key: "b", value: "1"}: longer than a bare header.
    const bare = await rawCall('/etcdserverpb.KV/Put', ['0a0162 120133']);
    expect(outcome.responses).toBeGreaterThan(bare.responses);
  });

  it('a malformed message ends a Watch stream as etcd ends it', async () => {
    // WatchRequest{create_request: <length 10, only 3 bytes>}
    const outcome = await rawCall('/etcdserverpb.Watch/Watch', ['0a0a 0a016b']);
    expect(outcome).toMatchObject({ status: 13, message: 'grpc: failed to unmarshal the received message unexpected EOF' });
    await stillServes();
  });

  it('a malformed message ends a LeaseKeepAlive stream as etcd ends it', async () => {
    const outcome = await rawCall('/etcdserverpb.Lease/LeaseKeepAlive', ['09']);
    expect(outcome).toMatchObject({ status: 13, message: 'grpc: failed to unmarshal the received message proto: wrong wireType = 1 for field ID' });
    await stillServes();
  });
});
