// The same HTTP/JSON gateway calls against a one-member etcd 3.4 and a three-member raftkv cluster,
// answers compared field by field: HTTP status, the headers a client can tell apart
// (Content-Type, Grpc-Metadata-*, Trailer and trailers, chunked or sized, Location, CORS), and the
// JSON body after normalization. Plain node:http is the client; no etcd library is involved.
//
// Normalized, because it legitimately differs between the two: cluster and member ids, raft terms
// and indexes, db sizes, the server version string, member names and URLs, a lease id the server
// picks, a lease's remaining TTL, Content-Length's value (ids differ in length; whether an answer
// is sized or chunked is still compared), and absolute revisions (each system's are taken relative
// to the revision of its own first write, so revision differences are still compared). Everything
// else must be equal, the error texts of Go's JSON decoder included: raftkv reads request bodies
// with Go's rules and Go's messages (src/api/http/go-json.ts), so no error text is normalized. Two
// answers are not compared here: /version (raftkv's own version) and /health (etcd 3.5's `reason`
// field), which the integrator's tests cover, and a CORS preflight (OPTIONS, answered by the
// HTTP front before the gateway: raftkv's empty answer is chunked, etcd's has Content-Length: 0). Nor is a body over the gateway's read cap (4 x the
// largest request): etcd reads any body and reports the protobuf size; raftkv stops reading there.
//
// Each `it` continues from the state the previous ones left, in both systems alike.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../support/external.js';
import { ComparisonProcesses, spawnReferenceEtcd } from './reference-etcd.js';
import { eventually, TestCluster } from './harness.js';
import { b64, COMPARED_HEADERS, GRPC_OVERHEAD_BYTES, MAX_REQUEST_BYTES, openStream, parseBody, send, view, type Answer, type Body, type Outcome, type System } from './http-compare-support.js';

const processes = new ComparisonProcesses('raftkv-http-compare-');
const { root } = processes;
const children = processes.children;
let cluster: TestCluster | null = null;

afterAll(() => processes.remove(cluster));

describeWithBinaries(['etcd'], 'HTTP/JSON gateway: etcd 3.4 (1 member) vs raftkv (3 members)', (paths) => {
  const etcd: System = { name: 'etcd', port: 0, base: 0 };
  const raftkv: System = { name: 'raftkv', port: 0, base: 0 };
  const systems = [etcd, raftkv] as const;

  const bodyFor = (body: Body | undefined, system: System): string | Buffer | undefined => (typeof body === 'function' ? body(system) : body);

  /** The same request on both; returns both raw outcomes. */
  const onBoth = async (path: string, body?: Body, options: { method?: string; headers?: Record<string, string> } = {}): Promise<[Outcome, Outcome]> => {
    const [a, b] = await Promise.all(systems.map((system) => send(system.port, options.method ?? 'POST', path, bodyFor(body, system), options.headers)));
    return [a, b];
  };

  /** The same request on both, the answers expected equal after normalization; returns etcd's answer, parsed. */
  const same = async (path: string, body?: Body, options: { method?: string; headers?: Record<string, string> } = {}): Promise<any> => {
    const [a, b] = await onBoth(path, body, options);
    const label = `${options.method ?? 'POST'} ${path} ${String(typeof body === 'function' ? body(etcd) : body).slice(0, 300)}`;
    expect(view(b, raftkv), label).toEqual(view(a, etcd));
    return 'dropped' in a ? null : parseBody(a.body, etcd);
  };

  const rev = (offset: number) => (system: System) => String(system.base + offset);

  beforeAll(async () => {
    const reference = await spawnReferenceEtcd(paths.etcd, root, ['--max-request-bytes', String(MAX_REQUEST_BYTES)]);
    children.push(reference.child);
    etcd.port = reference.clientPort;
    cluster = await TestCluster.start(3, [`--max-request-bytes=${MAX_REQUEST_BYTES}`]);
    raftkv.port = cluster.members[0].clientPort;
    // Ready when a linearizable read answers over HTTP.
    for (const system of systems) {
      await eventually(`${system.name} answers /v3/kv/range`, async () => {
        const answer = await send(system.port, 'POST', '/v3/kv/range', JSON.stringify({ key: b64('ready') }));
        if ('dropped' in answer || answer.status !== 200) throw new Error(JSON.stringify(answer));
      });
    }
  }, 60_000);

  it('put: the first write fixes each system\'s base revision; prev_kv, lease, ignore_value, ignore_lease and their errors', async () => {
    const [a, b] = await onBoth('/v3/kv/put', JSON.stringify({ key: b64('k/a'), value: b64('v1') }));
    for (const [outcome, system] of [[a, etcd], [b, raftkv]] as const) {
      expect('dropped' in outcome ? 0 : outcome.status, system.name).toBe(200);
      system.base = Number(JSON.parse((outcome as Answer).body).header.revision);
    }
    expect(view(b, raftkv)).toEqual(view(a, etcd));

    await same('/v3/kv/put', JSON.stringify({ key: b64('k/b'), value: b64('v2'), prev_kv: true })); // base+1, nothing before
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/a'), value: b64('v3'), prev_kv: true })); // base+2, prev v1
    await same('/v3/lease/grant', JSON.stringify({ TTL: '600', ID: '4660' }));
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/l'), value: b64('lv'), lease: '4660' })); // base+3
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/l'), ignore_value: true, prev_kv: true })); // base+4: value kept
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/l'), value: b64('lv2'), ignore_lease: true, prev_kv: true })); // base+5: lease kept
    await same('/v3/kv/range', JSON.stringify({ key: b64('k/l') }));
    await same('/v3/kv/put', JSON.stringify({ key: b64('missing'), ignore_value: true })); // key not found
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/l'), value: b64('x'), ignore_lease: true, lease: '4660' })); // lease is provided
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/l'), value: b64('x'), ignore_value: true })); // value is provided
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/x'), value: b64('x'), lease: '999' })); // lease not found: 404
    await same('/v3/kv/put', JSON.stringify({ value: b64('x') })); // key is not provided
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/c'), value: b64('v2') })); // base+6
    await same('/v3/kv/put', JSON.stringify({ key: b64('other'), value: b64('zz') })); // base+7
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/d'), value: b64('v0') })); // base+8
  });

  it('range with every option', async () => {
    const prefix = { key: b64('k/'), range_end: b64('k0') };
    const ranges: Body[] = [
      JSON.stringify({ key: b64('k/a') }),
      JSON.stringify({ key: b64('nothing') }),
      JSON.stringify({ key: b64('k/a'), range_end: b64('k/c') }),
      JSON.stringify(prefix),
      JSON.stringify({ key: b64('k/c'), range_end: b64('\0') }), // from key
      JSON.stringify({ key: b64('\0'), range_end: b64('\0') }), // everything
      JSON.stringify({ ...prefix, limit: '2' }),
      JSON.stringify({ ...prefix, limit: 2 }),
      (s) => JSON.stringify({ ...prefix, revision: rev(1)(s) }),
      (s) => JSON.stringify({ key: b64('k/a'), revision: Number(rev(0)(s)) }),
      JSON.stringify({ ...prefix, sort_order: 'DESCEND' }),
      JSON.stringify({ ...prefix, sort_order: 2, sort_target: 'VALUE' }),
      JSON.stringify({ ...prefix, sort_order: 'ASCEND', sort_target: 4, limit: '3' }),
      JSON.stringify({ ...prefix, sort_order: 'DESCEND', sort_target: 'VERSION' }),
      JSON.stringify({ ...prefix, sort_order: 'DESCEND', sort_target: 'CREATE' }),
      JSON.stringify({ ...prefix, sort_order: 'ASCEND', sort_target: 'MOD' }),
      JSON.stringify({ ...prefix, sort_order: 'NONE', sort_target: 'KEY' }),
      JSON.stringify({ ...prefix, sortOrder: 'DESCEND', sortTarget: 'KEY' }), // the camelCase names
      JSON.stringify({ ...prefix, keys_only: true }),
      JSON.stringify({ ...prefix, count_only: true }),
      JSON.stringify({ ...prefix, count_only: true, keys_only: true, limit: '1' }),
      (s) => JSON.stringify({ ...prefix, min_mod_revision: rev(3)(s) }),
      (s) => JSON.stringify({ ...prefix, max_mod_revision: rev(2)(s) }),
      (s) => JSON.stringify({ ...prefix, min_create_revision: rev(1)(s), max_create_revision: rev(6)(s) }),
      (s) => JSON.stringify({ ...prefix, minModRevision: rev(5)(s), keysOnly: true }),
      (s) => JSON.stringify({ key: b64('k/a'), revision: rev(1000)(s) }), // future revision
    ];
    for (const body of ranges) await same('/v3/kv/range', body);
    // Serializable reads answer from the member's own state: a linearizable read of the same range
    // first makes sure raftkv's answering member has applied everything above.
    await same('/v3/kv/range', JSON.stringify(prefix));
    await same('/v3/kv/range', JSON.stringify({ ...prefix, serializable: true }));
    await same('/v3/kv/range', JSON.stringify({ ...prefix, serializable: true, limit: '1', sort_order: 'DESCEND' }));
  });

  it('deleterange: prev_kv, a range, a missing key', async () => {
    await same('/v3/kv/deleterange', JSON.stringify({ key: b64('k/d'), prev_kv: true })); // base+9
    await same('/v3/kv/deleterange', JSON.stringify({ key: b64('k/d'), prev_kv: true })); // nothing deleted, no revision
    await same('/v3/kv/put', JSON.stringify({ key: b64('d/1'), value: b64('x') })); // base+10
    await same('/v3/kv/put', JSON.stringify({ key: b64('d/2'), value: b64('y') })); // base+11
    await same('/v3/kv/deleterange', JSON.stringify({ key: b64('d/'), range_end: b64('d0'), prev_kv: true })); // base+12
    await same('/v3/kv/put', JSON.stringify({ key: b64('d/3'), value: b64('z') })); // base+13
    await same('/v3/kv/deleterange', JSON.stringify({ key: b64('d/'), range_end: b64('d0') })); // base+14
    await same('/v3/kv/deleterange', JSON.stringify({})); // key is not provided
    await same('/v3/kv/range', JSON.stringify({ key: b64('\0'), range_end: b64('\0') }));
  });

  it('txn: every compare target and result, both branches, nested and empty txns, inner headers', async () => {
    const cmp = (target: string, result: string, field: string, value: unknown, key = 'k/a', extra: object = {}) => ({ key: b64(key), target, result, [field]: value, ...extra });
    const txns: Body[] = [
      JSON.stringify({}), // empty: succeeds, no revision
      JSON.stringify({ compare: [cmp('VALUE', 'EQUAL', 'value', b64('v3'))], success: [{ request_range: { key: b64('k/a') } }], failure: [{ request_put: { key: b64('never'), value: b64('x') } }] }),
      JSON.stringify({ compare: [cmp('VALUE', 'EQUAL', 'value', b64('wrong'))], success: [{ request_put: { key: b64('never'), value: b64('x') } }], failure: [{ request_range: { key: b64('k/b') } }] }),
      JSON.stringify({ compare: [cmp('VERSION', 'GREATER', 'version', '1')], success: [{ request_range: { key: b64('k/a') } }] }),
      JSON.stringify({ compare: [cmp('VERSION', 'LESS', 'version', 2)] }),
      (s) => JSON.stringify({ compare: [cmp('CREATE', 'EQUAL', 'create_revision', rev(0)(s))] }),
      (s) => JSON.stringify({ compare: [cmp('MOD', 'NOT_EQUAL', 'mod_revision', rev(2)(s))] }),
      JSON.stringify({ compare: [cmp('LEASE', 'EQUAL', 'lease', '4660', 'k/l')] }),
      JSON.stringify({ compare: [cmp('LEASE', 'GREATER', 'lease', '0', 'k/a')] }),
      JSON.stringify({ compare: [{ key: b64('k/a'), target: 2, result: 1, mod_revision: '0' }] }), // enums by number
      JSON.stringify({ compare: [cmp('VERSION', 'GREATER', 'version', '0', 'k/', { range_end: b64('k0') })] }), // compare over a range
      JSON.stringify({ compare: [cmp('CREATE', 'EQUAL', 'create_revision', '0', 'absent')] }),
      JSON.stringify({ compare: [{ key: b64('k/a'), target: 9 }, { key: b64('k/a'), target: 'VERSION', result: 9, version: '7' }] }), // unknown enum numbers
      // base+15: puts, a delete with prev_kv, a range after them, nested txns. etcd decides every
      // compare before the ops run: the nested compare on t/1 fails (t/1 is not there yet).
      JSON.stringify({
        compare: [cmp('VALUE', 'EQUAL', 'value', b64('v2'), 'k/b')],
        success: [
          { request_range: { key: b64('t/'), range_end: b64('t0') } },
          { request_put: { key: b64('t/1'), value: b64('one'), prev_kv: true } },
          { request_delete_range: { key: b64('k/c'), prev_kv: true } },
          { request_txn: { compare: [cmp('VALUE', 'EQUAL', 'value', b64('one'), 't/1')], success: [{ request_put: { key: b64('t/2'), value: b64('two') } }, { request_range: { key: b64('t/'), range_end: b64('t0') } }], failure: [] } },
          { request_range: { key: b64('t/'), range_end: b64('t0'), count_only: true } },
          { request_txn: {} },
        ],
      }),
      // base+16: the failure branch, with a nested txn taking its own failure branch.
      JSON.stringify({
        compare: [cmp('VALUE', 'EQUAL', 'value', b64('nope'), 't/1')],
        failure: [{ request_txn: { compare: [cmp('VERSION', 'EQUAL', 'version', '5', 't/1')], success: [{ request_put: { key: b64('never'), value: b64('x') } }], failure: [{ request_delete_range: { key: b64('t/1'), prev_kv: true } }] } }],
      }),
      JSON.stringify({ success: [{ request_put: { key: b64('dup'), value: b64('1') } }, { request_put: { key: b64('dup'), value: b64('2') } }] }), // duplicate key
      JSON.stringify({ success: Array.from({ length: 129 }, (_, i) => ({ request_range: { key: b64(`r${i}`) } })) }), // too many operations
      JSON.stringify({ compare: [{ target: 'VALUE', value: b64('x') }] }), // compare without a key
    ];
    for (const body of txns) await same('/v3/kv/txn', body);
    await same('/v3/kv/range', JSON.stringify({ key: b64('\0'), range_end: b64('\0') }));
  });

  it('compaction, then reads of compacted, compacted-at and future revisions', async () => {
    await same('/v3/kv/compaction', (s) => JSON.stringify({ revision: rev(2)(s) }));
    await same('/v3/kv/range', (s) => JSON.stringify({ key: b64('k/a'), revision: rev(1)(s) })); // compacted: 400, code 11
    await same('/v3/kv/range', (s) => JSON.stringify({ key: b64('k/'), range_end: b64('k0'), revision: rev(2)(s) })); // the compacted revision itself
    await same('/v3/kv/compaction', (s) => JSON.stringify({ revision: rev(1)(s) })); // already compacted
    await same('/v3/kv/compaction', (s) => JSON.stringify({ revision: rev(1000)(s) })); // future
    await same('/v3/kv/range', (s) => JSON.stringify({ key: b64('k/a'), revision: rev(1000)(s) }));
    await same('/v3/kv/compaction', (s) => JSON.stringify({ revision: rev(4)(s), physical: true }));
    await same('/v3/kv/range', (s) => JSON.stringify({ key: b64('\0'), range_end: b64('\0'), revision: rev(4)(s), keys_only: true }));
    await same('/v3/kv/range', (s) => JSON.stringify({ key: b64('\0'), range_end: b64('\0'), revision: rev(3)(s) }));
  });

  it('leases: grant, timetolive with keys, leases, revoke, the /v3/kv/lease/ aliases, one keepalive', async () => {
    await same('/v3/lease/grant', JSON.stringify({ TTL: '600', ID: '4660' })); // already exists: 412
    await same('/v3/lease/grant', JSON.stringify({ TTL: 300, ID: 4661 }));
    // A lease id the server picks differs; the rest of the answer does not.
    const [a, b] = await onBoth('/v3/lease/grant', JSON.stringify({ TTL: '100' }));
    const picked = (outcome: Outcome): { view: unknown; id: string } => {
      const body = JSON.parse((outcome as Answer).body) as { ID: string };
      return { view: { ...(view(outcome, etcd) as object), body: { ...body, ID: '<picked>', header: '<header>' } }, id: body.ID };
    };
    expect(picked(b).view).toEqual(picked(a).view);
    await Promise.all([[etcd, a], [raftkv, b]].map(([system, outcome]) => send((system as System).port, 'POST', '/v3/lease/revoke', JSON.stringify({ ID: picked(outcome as Outcome).id }))));

    // A remaining TTL counts down on its own clock: compared as present, not by value.
    const ttlView = (outcome: Outcome, system: System): unknown => {
      const shown = view(outcome, system) as { body: { TTL?: string } };
      if (shown.body.TTL !== undefined && Number(shown.body.TTL) > 0) shown.body.TTL = '<remaining>';
      return shown;
    };
    for (const [path, body] of [
      ['/v3/lease/timetolive', { ID: '4660', keys: true }],
      ['/v3/kv/lease/timetolive', { ID: '4661' }],
      ['/v3/lease/timetolive', { ID: '777' }], // unknown: TTL -1
    ] as const) {
      const [x, y] = await onBoth(path, JSON.stringify(body));
      expect(ttlView(y, raftkv), `${path} ${JSON.stringify(body)}`).toEqual(ttlView(x, etcd));
    }
    // etcd lists leases in its map's order, which varies: compared sorted by id.
    for (const [path, body] of [['/v3/lease/leases', '{}'], ['/v3/kv/lease/leases', '']] as const) {
      const [x, y] = await onBoth(path, body);
      const sorted = (outcome: Outcome, system: System): unknown => {
        const shown = view(outcome, system) as { body: { leases?: { ID: string }[] } };
        shown.body.leases?.sort((l, r) => Number(l.ID) - Number(r.ID));
        return shown;
      };
      expect(sorted(y, raftkv), path).toEqual(sorted(x, etcd));
    }

    // One keepalive: the stream answers once and closes when the body ends.
    await same('/v3/lease/keepalive', JSON.stringify({ ID: '4661' }));
    await same('/v3/lease/keepalive', JSON.stringify({ ID: '4661' }) + JSON.stringify({ ID: '4660' }));
    await same('/v3/lease/keepalive', JSON.stringify({ ID: '777' })); // unknown lease: TTL 0
    await same('/v3/lease/keepalive', ''); // nothing to send: an empty answer

    await same('/v3/kv/lease/revoke', JSON.stringify({ ID: '4661' }));
    await same('/v3/lease/revoke', JSON.stringify({ ID: '4661' })); // gone: 404
    await same('/v3/lease/revoke', JSON.stringify({ ID: '4660' })); // base+17: k/l deleted with it
    await same('/v3/kv/range', JSON.stringify({ key: b64('k/l') }));
    await same('/v3/lease/leases', '{}');
  });

  it('member list, status and alarm list', async () => {
    for (const body of ['{}', JSON.stringify({ linearizable: true })]) {
      const [a, b] = await onBoth('/v3/cluster/member/list', body);
      const members = (outcome: Outcome, system: System) => view(outcome, system) as { body: { members: unknown[] } };
      // Three members against one: each member alike, and the rest of the answer.
      expect(members(b, raftkv).body.members).toHaveLength(3);
      expect(new Set(members(b, raftkv).body.members.map((m) => JSON.stringify(m)))).toEqual(new Set(members(a, etcd).body.members.map((m) => JSON.stringify(m))));
      expect({ ...members(b, raftkv), body: { ...members(b, raftkv).body, members: [] } }).toEqual({ ...members(a, etcd), body: { ...members(a, etcd).body, members: [] } });
    }

    // Membership changes refused alike: an unknown member (whatever the URLs), a URL that is none.
    await same('/v3/cluster/member/update', JSON.stringify({ ID: '1', peerURLs: ['bad'] }));
    await same('/v3/cluster/member/update', JSON.stringify({ ID: '1' }));
    await same('/v3/cluster/member/remove', JSON.stringify({ ID: '1' }));
    await same('/v3/cluster/member/promote', JSON.stringify({ ID: '1' }));
    await same('/v3/cluster/member/add', JSON.stringify({ peerURLs: ['notaurl'] }));
    await same('/v3/maintenance/status', '{}');
    await same('/v3/maintenance/alarm', '{}');
    await same('/v3/maintenance/alarm', JSON.stringify({ action: 'GET' }));
    await same('/v3/maintenance/alarm', JSON.stringify({ action: 'GET', alarm: 'BAD' }));

    // A NOSPACE alarm raised on the answering member: listed, in Status, writes refused; then cleared.
    const memberIds = new Map<System, string>();
    for (const system of systems) {
      const status = await send(system.port, 'POST', '/v3/maintenance/status', '{}');
      memberIds.set(system, (JSON.parse((status as Answer).body) as { header: { member_id: string } }).header.member_id);
    }
    const alarm = (action: string, name: string) => (s: System) => JSON.stringify({ action, memberID: memberIds.get(s), alarm: name });
    await same('/v3/maintenance/alarm', alarm('ACTIVATE', 'NOSPACE'));
    await same('/v3/maintenance/alarm', JSON.stringify({ action: 'GET' }));
    await same('/v3/maintenance/status', '{}');
    await same('/v3/kv/put', JSON.stringify({ key: b64('k/nospace'), value: b64('x') })); // 429, database space exceeded
    await same('/v3/maintenance/alarm', alarm('DEACTIVATE', 'NOSPACE'));
    await same('/v3/maintenance/alarm', JSON.stringify({ action: 'GET' }));
    await same('/v3/maintenance/alarm', alarm('DEACTIVATE', 'NOSPACE')); // nothing to clear
  });

  it('watch: history with prev_kv, a compacted start revision, filters, a progress request and a cancel in the same body', async () => {
    // Each stream's whole answer after its client goes: the lines it had sent by then.
    const watchAnswer = async (body: Body, lineCount: number): Promise<void> => {
      const [a, b] = await Promise.all(systems.map(async (system) => {
        const stream = await openStream(system.port, '/v3/watch', String(bodyFor(body, system)), {}, system);
        const lines = await stream.lines(lineCount);
        stream.close();
        return { status: stream.status, headers: Object.fromEntries(COMPARED_HEADERS.filter((h) => stream.headers[h] !== undefined).map((h) => [h, stream.headers[h]])), lines };
      }));
      expect(b, String(bodyFor(body, etcd))).toEqual(a);
    };
    // History of k/ from the compacted-at revision: created, then the events since.
    await watchAnswer((s) => JSON.stringify({ create_request: { key: b64('k/'), range_end: b64('k0'), start_revision: rev(4)(s), prev_kv: true } }), 2);
    await watchAnswer((s) => JSON.stringify({ create_request: { key: b64('t/'), range_end: b64('t0'), start_revision: rev(4)(s), filters: ['NOPUT'] } }), 2);
    await watchAnswer((s) => JSON.stringify({ create_request: { key: b64('t/'), range_end: b64('t0'), start_revision: rev(4)(s), filters: [1], prev_kv: true } }), 2);
    // A start revision already compacted: created, then canceled with the compact revision.
    await watchAnswer((s) => JSON.stringify({ create_request: { key: b64('k/a'), start_revision: rev(1)(s) } }), 2);
    // A progress request and a cancel after the create, in one body.
    await watchAnswer(JSON.stringify({ create_request: { key: b64('live') } }) + JSON.stringify({ progress_request: {} }), 2);
    await watchAnswer(`${JSON.stringify({ create_request: { key: b64('live') } })}\n${JSON.stringify({ cancel_request: { watch_id: '0' } })}\n`, 2);
  });

  it('watch: live events with prev_kv and a NODELETE filter; a progress request alone', async () => {
    const streams = await Promise.all(systems.map((system) =>
      openStream(system.port, '/v3/watch', JSON.stringify({ create_request: { key: b64('live/'), range_end: b64('live0'), prev_kv: true } }) + JSON.stringify({ create_request: { key: b64('live/'), range_end: b64('live0'), filters: ['NODELETE'] } }), {}, system)));
    try {
      const created = await Promise.all(streams.map((stream) => stream.lines(2)));
      expect(created[1]).toEqual(created[0]);
      await same('/v3/kv/put', JSON.stringify({ key: b64('live/1'), value: b64('a') }));
      await same('/v3/kv/put', JSON.stringify({ key: b64('live/1'), value: b64('b') }));
      await same('/v3/kv/deleterange', JSON.stringify({ key: b64('live/1') }));
      // Two watchers: three events for the first, two for the second (no delete), one line each event.
      const events = await Promise.all(streams.map((stream) => stream.lines(5)));
      const byWatch = (lines: unknown[]) => [0, 1].map((id) => lines.filter((line) => ((line as { result: { watch_id?: string } }).result.watch_id ?? '0') === String(id)));
      expect(byWatch(events[1])).toEqual(byWatch(events[0]));
    } finally {
      for (const stream of streams) stream.close();
    }
    const progress = await Promise.all(systems.map(async (system) => {
      const stream = await openStream(system.port, '/v3/watch', JSON.stringify({ progress_request: {} }), {}, system);
      const lines = await stream.lines(1);
      stream.close();
      return lines;
    }));
    expect(progress[1]).toEqual(progress[0]);
  });

  it('streams: an unreadable first request fails the call (500, code 2); a later one ends the sending', async () => {
    await same('/v3/watch', '{');
    await same('/v3/watch', JSON.stringify({ create_request: { key: 1 } }));
    await same('/v3/watch', JSON.stringify({ create_request: 'x' }));
    await same('/v3/watch', JSON.stringify({ create_request: { key: b64('w'), filters: 'NOPUT' } })); // a repeated enum given one name
    await same('/v3/watch', JSON.stringify({ create_request: { key: b64('w'), filters: ['NOPUT', 'BAD'] } }));
    await same('/v3/lease/keepalive', '{"ID":');
    await same('/v3/lease/keepalive', JSON.stringify({ ID: 'x1' }));
    // The first request is served; the sending stops at the unreadable second one (a keepalive then ends).
    await same('/v3/lease/grant', JSON.stringify({ TTL: '600', ID: '4663' }));
    await same('/v3/lease/keepalive', `${JSON.stringify({ ID: '4663' })}{"ID":true}${JSON.stringify({ ID: '4663' })}`);
    await same('/v3/lease/keepalive', `${JSON.stringify({ ID: '4663' })} x`);
    await same('/v3/lease/revoke', JSON.stringify({ ID: '4663' }));
  });

  it('malformed JSON and empty bodies: Go\'s decoder texts, 400 code 3', async () => {
    const bodies = ['{', '{"key":', '{"key":"azE=",}', '{"key" 1}', '{"key":"azE=" "limit":1}', '[1 2]', '{"key":tru}', '{"key":nul', '{"key":"\\x"}', '{"key":"\\u12x4"}',
      '{"key":"a\nb"}', '{"key":1.}', '{"key":-}', '{"key":1e}', '{"key":01}', '}', 'x', '',  ' \n', 'null', '"x"', '1', 'true', '[]', '[1]', '{}',
      '{"key":"azE="} trailing garbage is ignored', '{"key":"azE="}{'];
    for (const body of bodies) await same('/v3/kv/range', body);
  });

  it('wrong types for each kind of field, unknown fields ignored', async () => {
    const key = b64('k/a');
    const bodies: object[] = [
      // int64
      { key, limit: 'abc' }, { key, limit: '1.5' }, { key, limit: 1.5 }, { key, limit: '1e2' }, { key, limit: 1e21 }, { key, limit: '' }, { key, limit: ' 1' }, { key, limit: '01' },
      { key, limit: '1 2' }, { key, limit: '-' }, { key, limit: '1.' }, { key, limit: '\\u0031' }, { key, limit: 'null' }, { key, limit: 'true' }, { key, limit: '{}' },
      { key, limit: '9223372036854775808' }, { key, limit: '-9223372036854775808' }, { key, limit: true }, { key, limit: {} }, { key, limit: [] }, { key, limit: null },
      // bytes
      { key: 1 }, { key: true }, { key: {} }, { key: [107, 47, 97] }, { key: [300] }, { key: [1.5] }, { key: ['a'] }, { key: '!!' }, { key: 'azE' }, { key: 'azE==' },
      { key: 'a2' }, { key: 'a2=' }, { key: 'a2=x' }, { key: 'azE=azE=' }, { key: 'a-_=' }, { key: 'az E=' }, { key: 'azE=\n' }, { key: 'é' },
      // enums
      { key, sort_order: 'BAD' }, { key, sort_order: 'descend' }, { key, sort_order: '2' }, { key, sort_order: 1.5 }, { key, sort_order: true }, { key, sort_order: 99999999999 },
      { key, sort_order: 7 }, { key, sort_order: -1 }, { key, sort_order: {} }, { key, sort_order: 'constructor' }, { key, sort_target: 'B\\u0041D' }, { key, sort_target: 'tab\there' },
      // bool
      { key, serializable: 'true' }, { key, keys_only: 1 }, { key, count_only: {} }, { key, count_only: null },
      // names: both spellings, the camelCase one wins; unknown fields ignored
      { key, keys_only: false, keysOnly: true }, { key, keysOnly: false, keys_only: true }, { key, unknown: 1, nested: { x: [1] } }, { key, KEY: 'x', Limit: 'x' },
      // the first field in declaration order fails first, whatever the JSON order
      { limit: 'x', key: 1 },
    ];
    for (const body of bodies) await same('/v3/kv/range', JSON.stringify(body).replace(/\\\\u/g, '\\u'));
    const txns: object[] = [
      { compare: {} }, { compare: 'x' }, { compare: ['x'] }, { success: [{ request_range: 'x' }] }, { success: { request_range: {} } },
      { compare: [{ key, target: 'BAD' }] }, { compare: [{ key, result: 'BAD' }] }, { compare: [{ key, target: 'VERSION', version: 'x' }] },
      { success: [{ request_put: null }] }, { compare: null, success: null }, { compare: [{ version: 'x', range_end: 1 }] }, { success: [{ request_txn: { success: [{ request_range: { key: 5 } }] } }] },
    ];
    for (const body of txns) await same('/v3/kv/txn', JSON.stringify(body));
    await same('/v3/kv/txn', '{"compare":[null]}'); // etcd's gateway panics on the nil entry: the connection closes
    await same('/v3/watch', JSON.stringify({ create_request: { key: b64('w'), filters: 'BAD' } }));
    await same('/v3/lease/grant', JSON.stringify({ TTL: 'x' }));
    await same('/v3/cluster/member/remove', JSON.stringify({ ID: '-1' })); // uint64
    await same('/v3/cluster/member/remove', JSON.stringify({ ID: '18446744073709551616' }));
  });

  it('request size: over --max-request-bytes (etcdserver), and over the gRPC receive limit (429)', async () => {
    await same('/v3/kv/put', JSON.stringify({ key: b64('big'), value: Buffer.alloc(MAX_REQUEST_BYTES + 1).toString('base64') }));
    const overGrpc = JSON.stringify({ key: b64('big'), value: Buffer.alloc(MAX_REQUEST_BYTES + GRPC_OVERHEAD_BYTES).toString('base64') });
    await same('/v3/kv/put', overGrpc);
    await same('/v3/kv/range', JSON.stringify({ key: b64('big') }));
  });

  it('paths and methods: unknown paths under /v3/ and elsewhere, GET on a POST path, redirects, the /v3beta alias', async () => {
    for (const path of ['/v3/kv/nothing', '/v3/nothing', '/v3/', '/v3/kv/range/', '/v3alpha/kv/range', '/v3beta', '/nothing', '/v3/watch/x']) await same(path, '{}');
    for (const method of ['GET', 'PUT', 'DELETE']) await same('/v3/kv/range', undefined, { method });
    await same('/v3/kv/range', undefined, { method: 'HEAD' });
    for (const path of ['/v3', '/v3?x=1', '/v3/kv//range', '/v3beta//kv/range?y=2']) {
      await same(path, JSON.stringify({ key: b64('k/a') }));
      await same(path, undefined, { method: 'GET' });
    }
    await same('/v3beta/kv/range', JSON.stringify({ key: b64('k/a') }));
    await same('/v3/kv/range?ignored=1', JSON.stringify({ key: b64('k/a') }));
  });
});
