// Bad-input cases that are not a damaged message: hostile peer URLs for MemberAdd/MemberUpdate,
// HTTP/2 and gRPC framing oddities, and sequences of requests on one Watch or LeaseKeepAlive stream.

import { gzipSync } from 'node:zlib';
import type { Random } from '../fault/random.js';
import { EXTREME_INTS, FUZZ_PREFIX, PRELOADED_KEY_COUNT, encodeNodes, fuzzKey, type FieldNode } from './messages.js';
import { framed, GRPC_HEADERS, type Drawn, type RawRequest } from './request.js';
import { METHODS, type MethodInfo } from './schema.js';
import { bytesField, grpcFrame, varintField } from './wire.js';

/** Peer URLs that etcd refuses or that must not reach a member's transport unchecked. Loopback only. */
export const HOSTILE_PEER_URLS: readonly string[] = [
  'http://127.0.0.1:2390/path', 'http://127.0.0.1:2390?query=1', 'http://127.0.0.1:2390#fragment', 'http://user:secret@127.0.0.1:2390',
  'http://127.0.0.1', 'http://127.0.0.1:0', 'http://127.0.0.1:65536', 'http://127.0.0.1:-1', 'http://127.0.0.1:99999999999',
  'ftp://127.0.0.1:2390', 'unix:///tmp/raftkv-fuzz.sock', 'unixs://127.0.0.1:2390', 'HTTP://127.0.0.1:2390', 'http://[::1]:2390', 'http://[::1',
  'http://127.0.0.1:2390/ü', 'http://ü@127.0.0.1:2390', `http://127.0.0.1:2390/${'a'.repeat(5000)}`, '', 'not a url', ' http://127.0.0.1:2390',
  'http://127.0.0.1:2390\n', 'http://127.0.0.1:2390,http://127.0.0.1:2391', 'http://127.0.0.1:2390/', '127.0.0.1:2390', 'http://:2390',
];

export function hostilePeerUrlCase(method: MethodInfo, random: Random): Drawn {
  const count = random.pick([1, 1, 2, 1000]);
  const urls = count === 1000 ? Array.from({ length: count }, (_, i) => `http://127.0.0.1:${20000 + i}`) : Array.from({ length: count }, () => random.pick(HOSTILE_PEER_URLS));
  const isLearner = random.next() < 0.5;
  const description = count === 1000 ? '1000 peer URLs' : `peer URLs ${JSON.stringify(urls)}${method.name === 'MemberAdd' && isLearner ? ' as a learner' : ''}`;
  return {
    description, wellFormed: true, keyTarget: 'fuzz',
    build: (target) => {
      const urlFields = urls.map((url) => bytesField(method.name === 'MemberAdd' ? 1 : 2, url));
      const body = method.name === 'MemberAdd'
        ? Buffer.concat([...urlFields, varintField(2, isLearner || target.memberAddAsLearner === true)])
        : Buffer.concat([varintField(1, target.memberIds[0] ?? 1n), ...urlFields]);
      return framed(method, [body]);
    },
  };
}

const putMethod = (): MethodInfo => METHODS.find((m) => m.name === 'Put')!;

/** Raw HTTP/2 and gRPC framing oddities, on a valid Put of a fuzz key unless said otherwise. */
export function http2Oddity(random: Random): Drawn {
  const method = random.pick(METHODS.filter((m) => !m.streaming && m.service !== 'Cluster'));
  const put = putMethod();
  const body = Buffer.concat([bytesField(1, fuzzKey(random.int(PRELOADED_KEY_COUNT))), bytesField(2, 'http2')]);
  const onPut = (request: Omit<RawRequest, 'path'>, description: string, wellFormed: boolean): Drawn => ({
    description, wellFormed, keyTarget: 'fuzz', method: put, build: () => ({ path: put.path, ...request }),
  });
  const post = { httpMethod: 'POST', headers: { ...GRPC_HEADERS } };
  const oddities: Array<() => Drawn> = [
    () => onPut({ ...post, chunks: [grpcFrame(body), grpcFrame(body)] }, 'two messages in a unary call', false),
    () => onPut({ ...post, chunks: [] }, 'no message in a unary call', false),
    () => onPut({ ...post, httpMethod: 'GET', chunks: [grpcFrame(body)] }, ':method GET', false),
    () => onPut({ ...post, headers: { ...GRPC_HEADERS, 'grpc-encoding': 'gzip' }, chunks: [grpcFrame(body, true)] }, 'gzip declared, body not gzip', false),
    () => onPut({ ...post, headers: { ...GRPC_HEADERS, 'grpc-encoding': 'gzip' }, chunks: [grpcFrame(gzipSync(body), true)] }, 'gzip declared and used', true),
    () => onPut({ ...post, chunks: [grpcFrame(body, true)] }, 'compressed flag without grpc-encoding', false),
    () => onPut({ ...post, headers: { ...GRPC_HEADERS, 'grpc-encoding': 'snappy-unknown' }, chunks: [grpcFrame(body, true)] }, 'unknown grpc-encoding', false),
    () => onPut({ ...post, chunks: [Buffer.concat([Buffer.from([2]), grpcFrame(body).subarray(1)])] }, 'compressed flag 2', false),
    () => onPut({ ...post, headers: { ...GRPC_HEADERS, ...manyHeaders(random.pick([50, 500])) }, chunks: [grpcFrame(body)] }, 'many metadata headers', true),
    () => onPut({ ...post, headers: { ...GRPC_HEADERS, 'x-fuzz-big': 'b'.repeat(random.pick([8_000, 60_000])) }, chunks: [grpcFrame(body)] }, 'one huge metadata header', true),
    () => onPut({ ...post, chunks: [grpcFrame(body, false, body.length + random.pick([1, 100, 65536]))] }, 'frame length prefix larger than the body', false),
    () => onPut({ ...post, chunks: [grpcFrame(body, false, 0xffffffff)] }, 'frame length prefix 2^32-1', false),
    () => onPut({ ...post, chunks: [Buffer.concat([grpcFrame(body), Buffer.from([0, 0])])] }, 'trailing bytes after the message', false),
    () => onPut({ ...post, chunks: [grpcFrame(body).subarray(0, 3)] }, 'half a length prefix', false),
    () => onPut({ ...post, chunks: [...grpcFrame(body)].map((byte) => Buffer.from([byte])) }, 'message split into one-byte DATA frames', true),
    () => onPut({ ...post, headers: { 'content-type': 'text/plain', te: 'trailers' }, chunks: [grpcFrame(body)] }, 'content-type text/plain', false),
    () => onPut({ ...post, headers: { 'content-type': 'application/grpc+json', te: 'trailers' }, chunks: [grpcFrame(body)] }, 'content-type application/grpc+json', false),
    () => onPut({ ...post, headers: { 'content-type': 'application/grpc' }, chunks: [grpcFrame(body)] }, 'no te: trailers', true),
    () => onPut({ ...post, headers: { ...GRPC_HEADERS, 'grpc-timeout': random.pick(['0n', '1n', 'abc', '99999999H', '-5S', '123456789S']) }, chunks: [grpcFrame(body)] }, 'odd grpc-timeout', false),
    () => ({ description: 'unknown method', wellFormed: false, keyTarget: 'fuzz', method, build: () => ({ path: `/etcdserverpb.${method.service}/NoSuchMethod`, ...post, chunks: [grpcFrame(Buffer.alloc(0))] }) }),
    () => ({ description: 'unknown service', wellFormed: false, keyTarget: 'fuzz', method, build: () => ({ path: '/etcdserverpb.NoSuchService/Range', ...post, chunks: [grpcFrame(Buffer.alloc(0))] }) }),
  ];
  return random.pick(oddities)();
}

function manyHeaders(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-fuzz-${i}`, `value-${i}`]));
}

const message = (field: number, name: string, nodes: FieldNode[]): FieldNode => ({ field, name, kind: 'message', repeated: false, message: nodes });
const bytes = (field: number, name: string, value: Buffer | string): FieldNode => ({ field, name, kind: 'bytes', repeated: false, bytes: Buffer.from(value) });
const int = (field: number, name: string, value: bigint): FieldNode => ({ field, name, kind: 'int64', repeated: false, varint: value });

/** Several requests on one Watch or LeaseKeepAlive stream, read for a bounded time. */
export function streamSequence(method: MethodInfo, random: Random): Drawn {
  const extreme = (): bigint => random.pick(EXTREME_INTS);
  if (method.name === 'LeaseKeepAlive') {
    const count = random.pick([1, 3, 50]);
    const ids = Array.from({ length: count }, () => extreme());
    return { description: `${count} keep-alives of ids ${ids.slice(0, 3).join(',')}`, wellFormed: true, keyTarget: 'fuzz', build: () => framed(method, ids.map((id) => encodeNodes([int(1, 'ID', id)]))) };
  }
  const key = (): Buffer => Buffer.from(fuzzKey(random.int(PRELOADED_KEY_COUNT)));
  const create = (fields: FieldNode[]): Buffer => encodeNodes([message(1, 'create_request', fields)]);
  const shapes: Array<() => [string, Buffer[]]> = [
    () => { const id = extreme(); return [`create with watch_id ${id}`, [create([bytes(1, 'key', key()), int(7, 'watch_id', id)])]]; },
    () => { const id = BigInt(random.between(1, 5)); return [`two creates with watch_id ${id}`, [create([bytes(1, 'key', key()), int(7, 'watch_id', id)]), create([bytes(1, 'key', key()), int(7, 'watch_id', id)])]]; },
    () => { const revision = extreme(); return [`create from start_revision ${revision}`, [create([bytes(1, 'key', key()), int(3, 'start_revision', revision)])]]; },
    () => { const filter = extreme(); return [`create with filter ${filter}`, [create([bytes(1, 'key', key()), { field: 5, name: 'filters', kind: 'enum', repeated: true, varint: filter }])]]; },
    () => { const id = extreme(); return [`cancel of watch_id ${id}`, [encodeNodes([message(2, 'cancel_request', [int(1, 'watch_id', id)])])]]; },
    () => ['create then cancel it twice', [create([bytes(1, 'key', key()), int(7, 'watch_id', 1n)]), encodeNodes([message(2, 'cancel_request', [int(1, 'watch_id', 1n)])]), encodeNodes([message(2, 'cancel_request', [int(1, 'watch_id', 1n)])])]],
    () => ['progress request with no watch', [encodeNodes([message(3, 'progress_request', [])])]],
    () => ['empty WatchRequest', [Buffer.alloc(0)]],
    () => ['create with an empty key', [create([])]],
    () => ['create with fragment and prev_kv', [create([bytes(1, 'key', Buffer.from(FUZZ_PREFIX)), bytes(2, 'range_end', Buffer.from([0])), int(8, 'fragment', 1n), int(6, 'prev_kv', 1n)])]],
    () => { const count = random.pick([100, 300]); return [`${count} creates on one stream`, Array.from({ length: count }, () => create([bytes(1, 'key', key())]))]; },
  ];
  const [description, bodies] = random.pick(shapes)();
  return { description, wellFormed: true, keyTarget: 'fuzz', build: () => framed(method, bodies) };
}
