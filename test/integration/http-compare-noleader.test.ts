// How the JSON gateway reports a stream that fails, compared between a three-member etcd 3.4 and a
// three-member raftkv cluster: on one member of each, watches with and without the
// `Grpc-Metadata-hasleader: true` header; then the other two members are killed. The hasleader
// watch ends with grpc-gateway's error chunk
// `{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}`
// (after its results, no newline after it); a new hasleader watch on the leaderless member is
// answered 503 with that chunk alone, and so is a keepalive the member cannot renew; a watch
// without the header stays open. Compared as
// http-compare.test.ts compares (http-compare-support.ts).

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../support/external.js';
import { ComparisonProcesses } from './reference-etcd.js';
import { eventually, freePort, TestCluster } from './harness.js';
import { b64, COMPARED_HEADERS, openStream, parseBody, send, type OpenStream, type System } from './http-compare-support.js';

const processes = new ComparisonProcesses('raftkv-http-noleader-');
const { root } = processes;
const etcdMembers = processes.children;
let cluster: TestCluster | null = null;

afterAll(() => processes.remove(cluster));

const HAS_LEADER = { 'Grpc-Metadata-hasleader': 'true' };

describeWithBinaries(['etcd'], 'HTTP/JSON gateway streams losing their leader: etcd 3.4 vs raftkv (3 members each)', (paths) => {
  const etcd: System = { name: 'etcd', port: 0, base: 0 };
  const raftkv: System = { name: 'raftkv', port: 0, base: 0 };
  const systems = [etcd, raftkv] as const;

  const headersOf = (stream: OpenStream): Record<string, unknown> =>
    Object.fromEntries(COMPARED_HEADERS.filter((name) => stream.headers[name] !== undefined).map((name) => [name, stream.headers[name]]));

  beforeAll(async () => {
    const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    const names = ['e1', 'e2', 'e3'];
    const initialCluster = names.map((name, i) => `${name}=http://127.0.0.1:${ports[3 + i]}`).join(',');
    etcd.port = ports[0];
    names.forEach((name, i) => {
      etcdMembers.push(
        spawn(paths.etcd, [
          '--name', name,
          '--data-dir', join(root, name),
          '--listen-client-urls', `http://127.0.0.1:${ports[i]}`,
          '--advertise-client-urls', `http://127.0.0.1:${ports[i]}`,
          '--listen-peer-urls', `http://127.0.0.1:${ports[3 + i]}`,
          '--initial-advertise-peer-urls', `http://127.0.0.1:${ports[3 + i]}`,
          '--initial-cluster', initialCluster,
          '--initial-cluster-state', 'new',
          '--initial-cluster-token', 'noleader',
          '--heartbeat-interval', '50',
          '--election-timeout', '500',
          '--log-level', 'error',
        ], { stdio: 'ignore' }),
      );
    });
    cluster = await TestCluster.start(3);
    raftkv.port = cluster.members[0].clientPort;
    for (const system of systems) {
      await eventually(`${system.name} answers /v3/kv/put`, async () => {
        const answer = await send(system.port, 'POST', '/v3/kv/put', JSON.stringify({ key: b64('k'), value: b64('v') }));
        if ('dropped' in answer || answer.status !== 200) throw new Error(JSON.stringify(answer));
      });
      const granted = await send(system.port, 'POST', '/v3/lease/grant', JSON.stringify({ ID: '7', TTL: '600' }));
      expect('dropped' in granted ? 0 : granted.status, system.name).toBe(200);
    }
  }, 60_000);

  it('a hasleader watch ends with the error chunk; a new one is answered 503 with it; a plain watch stays', async () => {
    const body = JSON.stringify({ create_request: { key: b64('k') } });
    const watches = await Promise.all(systems.map(async (system) => {
      const guarded = await openStream(system.port, '/v3/watch', body, HAS_LEADER, system);
      const plain = await openStream(system.port, '/v3/watch', body, {}, system);
      return { system, guarded, plain, created: [await guarded.lines(1), await plain.lines(1)] };
    }));
    expect(watches[1].created).toEqual(watches[0].created);

    // The other two members of each go; the one left loses its leader.
    for (const child of etcdMembers.slice(1)) child.kill('SIGKILL');
    for (const member of cluster!.members.slice(1)) await cluster!.kill(member);

    const ends = await Promise.all(watches.map(async ({ system, guarded }) => ({
      status: guarded.status,
      headers: headersOf(guarded),
      rest: parseBody(await guarded.rest(), system),
    })));
    expect(ends[1]).toEqual(ends[0]);
    expect(ends[0].rest).toEqual({ error: { grpc_code: 14, http_code: 503, message: 'etcdserver: no leader', http_status: 'Service Unavailable' } });

    // A new hasleader watch on the leaderless member: the error before any result.
    const refused = await Promise.all(systems.map(async (system) => {
      const stream = await openStream(system.port, '/v3/watch', body, HAS_LEADER, system);
      return { status: stream.status, headers: headersOf(stream), rest: parseBody(await stream.rest(), system) };
    }));
    expect(refused[1]).toEqual(refused[0]);
    expect(refused[0].status).toBe(503);

    // A keepalive the leaderless member cannot renew: refused before any result, with or without
    // the header (without it, after the member has waited for a leader in vain).
    for (const headers of [HAS_LEADER, {}]) {
      const keepalives = await Promise.all(systems.map(async (system) => {
        const stream = await openStream(system.port, '/v3/lease/keepalive', JSON.stringify({ ID: '7' }), headers, system);
        return { status: stream.status, headers: headersOf(stream), rest: parseBody(await stream.rest(), system) };
      }));
      expect(keepalives[1], JSON.stringify(headers)).toEqual(keepalives[0]);
    }

    // The watch without the header is still open on both (as it was when the others ended).
    expect(watches.map(({ plain }) => plain.isEnded())).toEqual([false, false]);
    for (const { plain } of watches) plain.close();
  });
});
