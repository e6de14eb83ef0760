// What grpc-go (etcd 3.4) and grpc-js answer differently at the HTTP/2 layer, answered as etcd does
// (probed on etcd 3.4.23 with the same frames): a call declaring a compressed body is refused with
// Unimplemented whatever the body, an unknown method is refused in grpc-go's words, and a call with
// thousands of metadata entries is served.

import { connect, type ClientHttp2Session } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawCall } from '../support/raw-grpc.js';
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

/** RangeRequest{key: "a"}. */
const RANGE = Uint8Array.of(0x0a, 0x01, 0x61);

const UNIMPLEMENTED_GZIP = { status: 12, message: 'grpc: Decompressor is not installed for grpc-encoding "gzip"', responses: 0 };

describe('HTTP/2 requests as etcd answers them', () => {
  it.each([
    ['a body that is not gzip', RANGE, 1],
    ['a valid gzip body', gzipSync(RANGE), 1],
    ['a message not flagged compressed', RANGE, 0],
  ] as const)('a call declaring grpc-encoding gzip with %s gets Unimplemented', async (_name, body, compressedFlag) => {
    const outcome = await rawCall(session, '/etcdserverpb.KV/Range', [body], { headers: { 'grpc-encoding': 'gzip' }, compressedFlag });
    expect(outcome).toEqual(UNIMPLEMENTED_GZIP);
  });

  it('a Watch stream declaring gzip gets Unimplemented too, and the member keeps serving', async () => {
    const outcome = await rawCall(session, '/etcdserverpb.Watch/Watch', [], { headers: { 'grpc-encoding': 'gzip' } });
    expect(outcome).toEqual(UNIMPLEMENTED_GZIP);
    await call(cluster.client(m1), 'Put', { key: Buffer.from('after-gzip'), value: Buffer.from('ok') });
  });

  it.each([
    ['/etcdserverpb.NoSuchService/Range', 'unknown service etcdserverpb.NoSuchService'],
    ['/etcdserverpb.KV/NoSuchMethod', 'unknown method NoSuchMethod for service etcdserverpb.KV'],
    ['/no-slash', 'malformed method name: "/no-slash"'],
  ])('a call of %s gets Unimplemented in grpc-go\'s words', async (path, message) => {
    expect(await rawCall(session, path, [RANGE])).toEqual({ status: 12, message, responses: 0 });
  });

  it('grpc-encoding identity is served', async () => {
    const outcome = await rawCall(session, '/etcdserverpb.KV/Range', [RANGE], { headers: { 'grpc-encoding': 'identity' } });
    expect(outcome.status).toBe(0);
  });

  it.each([200, 3000])('a call with %i metadata entries is served', async (count) => {
    const headers = Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-meta-${i}`, `v${i}`]));
    // A connection of its own, whose client may send header blocks past Node's 64 KiB default.
    const own = connect(`http://127.0.0.1:${m1.clientPort}`, { maxSendHeaderBlockLength: 1024 * 1024 });
    own.on('error', () => {});
    const outcome = await rawCall(own, '/etcdserverpb.KV/Range', [RANGE], { headers }).finally(() => own.close());
    expect(outcome.status).toBe(0);
    expect(outcome.responses).toBeGreaterThan(0);
  });
});
