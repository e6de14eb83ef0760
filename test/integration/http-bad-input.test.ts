// Seeded bad input on the JSON gateway of a real member: valid requests of every route, mutated
// (truncated, fields of the wrong type, bad base64, out-of-range numbers, deep nesting, huge
// bodies, junk bytes), sent over HTTP. Every answer must be an HTTP answer (never a dropped
// connection or a dead member), every refusal etcd's error body, and a refused write must never
// apply: after each refused write the guard keys, which every write here aims at, are as the
// last accepted one left them.
//
// RAFTKV_HTTP_FUZZ_SEED and RAFTKV_HTTP_FUZZ_COUNT pick the cases; a failure names the seed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../fault/random.js';
import { GATEWAY_ROUTES } from '../../src/api/http/routes.js';
import { TestCluster } from './harness.js';

const SEED = Number(process.env.RAFTKV_HTTP_FUZZ_SEED ?? 20261203);
const COUNT = Number(process.env.RAFTKV_HTTP_FUZZ_COUNT ?? 400);
const replay = `seed ${SEED}: replay with RAFTKV_HTTP_FUZZ_SEED=${SEED} RAFTKV_HTTP_FUZZ_COUNT=${COUNT} npx vitest run test/integration/http-bad-input.test.ts`;

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const GUARD = b64('guard/');
const GUARD_END = b64('guard0');

/** Valid bodies per path, every one aimed at the guard keys (so that none may apply once mutated). */
const VALID: Record<string, object> = {
  '/v3/kv/range': { key: GUARD, range_end: GUARD_END, limit: 5, sort_order: 'DESCEND', sort_target: 'MOD' },
  '/v3/kv/put': { key: b64('guard/a'), value: b64('changed'), prev_kv: true },
  '/v3/kv/deleterange': { key: GUARD, range_end: GUARD_END, prev_kv: true },
  '/v3/kv/txn': {
    compare: [{ key: b64('guard/a'), target: 'VALUE', result: 'EQUAL', value: b64('original') }],
    success: [{ request_put: { key: b64('guard/b'), value: b64('changed') } }, { request_txn: { success: [{ request_delete_range: { key: b64('guard/c') } }] } }],
    failure: [{ request_range: { key: GUARD, range_end: GUARD_END } }],
  },
  '/v3/kv/compaction': { revision: '1', physical: true },
  '/v3/watch': { create_request: { key: GUARD, range_end: GUARD_END, start_revision: '1', prev_kv: true, filters: ['NODELETE'] } },
  '/v3/lease/grant': { TTL: '60', ID: '0' },
  '/v3/lease/revoke': { ID: '12345' },
  '/v3/lease/keepalive': { ID: '12345' },
  '/v3/lease/timetolive': { ID: '12345', keys: true },
  '/v3/lease/leases': {},
  '/v3/cluster/member/list': { linearizable: true },
  '/v3/maintenance/status': {},
  '/v3/maintenance/alarm': { action: 'GET' },
};

/** Values that are wrong for at least some fields. */
const WRONG_VALUES: unknown[] = [
  null, true, -1, 1.5, 1e400, '', 'not base64!', '-9223372036854775809', '18446744073709551616', '9223372036854775808',
  [], [1, 2], {}, { key: 1 }, 'A'.repeat(10_000), '\u0000\uffff', 'DESCEND', 'UNKNOWN_ENUM', 2 ** 53 + 1,
];

function mutate(random: Random, value: unknown, depth = 0): unknown {
  if (value !== null && typeof value === 'object' && depth < 6) {
    const copy: any = Array.isArray(value) ? [...value] : { ...value };
    const keys = Object.keys(copy);
    if (keys.length > 0 && random.next() < 0.7) {
      const key = random.pick(keys);
      copy[key] = random.next() < 0.5 ? mutate(random, copy[key], depth + 1) : random.pick(WRONG_VALUES);
    } else if (!Array.isArray(copy)) {
      copy[random.pick(['unknown_field', 'Key', 'rangeEnd', 'prevKv', 'TTL', '__proto__'])] = random.pick(WRONG_VALUES);
    }
    return copy;
  }
  return random.pick(WRONG_VALUES);
}

/** One hostile body for `path`. */
function hostileBody(random: Random, path: string): string {
  const valid = JSON.stringify(VALID[path] ?? {});
  switch (random.int(8)) {
    case 0:
      return valid.slice(0, random.int(valid.length));
    case 1:
      return `${'['.repeat(random.between(1, 200_000))}`;
    case 2:
      return nestedTxn(random.between(10, 50_000));
    case 3:
      return Buffer.from(Array.from({ length: random.between(1, 64) }, () => random.int(256))).toString('latin1');
    case 4:
      return `${valid}${valid}junk`;
    case 5:
      return JSON.stringify({ key: GUARD, value: 'A'.repeat(random.pick([1000, 3_000_000, 7_000_000])) });
    default:
      return JSON.stringify(mutate(random, VALID[path] ?? {}));
  }
}

/** A Txn `depth` Txns deep, written out as text (too deep for JSON.stringify's recursion). */
function nestedTxn(depth: number): string {
  const innermost = JSON.stringify({ success: [{ request_put: { key: b64('guard/a'), value: b64('deep') } }] });
  return '{"success":[{"request_txn":'.repeat(depth) + innermost + '}]}'.repeat(depth);
}

let cluster: TestCluster;
let base: string;

const NULL_IN_LIST = /[[,]\s*null\s*[,\]]/;

/** What a watch stream says when its request creates nothing: nothing at all, as on etcd. */
const SILENT_STREAM = { status: 0, text: '' };

async function post(path: string, body: string): Promise<{ status: number; text: string }> {
  if (path !== '/v3/watch') {
    const response = await fetch(`${base}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(20_000) });
    return { status: response.status, text: await response.text() };
  }
  // A watch answers until the client goes, and a request that creates no watcher gets no answer
  // at all: read the first chunk if one comes within a while, then hang up.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 2000);
  try {
    const response = await fetch(`${base}${path}`, { method: 'POST', body, signal: controller.signal });
    const reader = response.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: response.status, text: Buffer.from(first.value ?? new Uint8Array()).toString() };
  } catch (error) {
    if (controller.signal.aborted) return SILENT_STREAM;
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function guards(): Promise<unknown> {
  const answer = await post('/v3/kv/range', JSON.stringify({ key: GUARD, range_end: GUARD_END }));
  return JSON.parse(answer.text).kvs;
}

beforeAll(async () => {
  cluster = await TestCluster.start(1);
  base = `http://127.0.0.1:${cluster.members[0]!.clientPort}`;
  for (const key of ['guard/a', 'guard/b', 'guard/c']) await post('/v3/kv/put', JSON.stringify({ key: b64(key), value: b64('original') }));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('bad input on the JSON gateway', () => {
  it('answers every hostile request with an HTTP answer, keeps serving, and applies no refused write', async () => {
    let expected = await guards();
    const writes = new Set(['/v3/kv/put', '/v3/kv/deleterange', '/v3/kv/txn']);
    const random = new Random(SEED);
    const paths = [...new Set(GATEWAY_ROUTES.map((route) => route.path)), '/v3/kv/put', '/v3/kv/txn', '/v3/kv/txn'];
    for (let i = 0; i < COUNT; i += 1) {
      const path = random.pick(paths);
      const body = hostileBody(random, path);
      let answer: { status: number; text: string };
      try {
        answer = await post(path, body);
      } catch (error) {
        // The one request etcd's gateway answers by dropping the connection (it panics on a null
        // entry in a list of messages; see json-codec.ts): fine, if the member still serves.
        if (NULL_IN_LIST.test(body)) {
          expect((await post('/v3/maintenance/status', '{}')).status, `case ${i}: ${replay}`).toBe(200);
          continue;
        }
        throw new Error(`case ${i} (${path}, ${body.length} bytes: ${body.slice(0, 120)}) got no HTTP answer: ${String(error)}; ${replay}`);
      }
      if (answer === SILENT_STREAM) {
        // Silence is only fine from a member that still answers.
        expect((await post('/v3/maintenance/status', '{}')).status, `case ${i}: ${replay}`).toBe(200);
      } else if (answer.status !== 200) {
        const parsed = (() => {
          try {
            return JSON.parse(answer.text) as unknown;
          } catch {
            return answer.text;
          }
        })();
        expect(parsed, `case ${i} (${path}): ${replay}`).toMatchObject({ code: expect.any(Number), error: expect.any(String), message: expect.any(String) });
      }
      if (!writes.has(path)) continue;
      if (answer.status === 200) expected = await guards();
      else expect(await guards(), `case ${i} (${path}) was refused (${answer.text.slice(0, 200)}) but changed the guard keys; ${replay}`).toEqual(expected);
    }
  }, 300_000);
});
