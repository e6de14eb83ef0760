// One client port for gRPC and HTTP, as etcd has it, with real member processes: the same port
// answers etcd's gRPC API, the JSON gateway, /health and grpc.health.v1; with TLS both protocols
// get the same certificates and client checks; a member cut off from its quorum says so on /health
// (503) and on gRPC health (NOT_SERVING), and says it again once the quorum is back.

import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { credentials as grpcCredentials, loadPackageDefinition, type ChannelCredentials, type Client, type ClientReadableStream, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PROTO_ROOT } from '../../src/grpc/proto-root.js';
import { makeCertificates, type TestCertificate } from '../support/certificates.js';
import { TestCluster, call, eventually, freePort } from './harness.js';

const Health = (((loadPackageDefinition(loadSync('grpc/health/v1/health.proto', { includeDirs: [PROTO_ROOT], enums: String })).grpc as GrpcObject).health as GrpcObject).v1 as GrpcObject).Health as ServiceClientConstructor;

const dir = mkdtempSync(join(tmpdir(), 'raftkv-it-client-port-'));
let cluster: TestCluster | null = null;
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await cluster?.stop();
  cluster = null;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function healthClient(port: number, credentials: ChannelCredentials = grpcCredentials.createInsecure()): Client {
  const client = new Health(`127.0.0.1:${port}`, credentials);
  clients.push(client);
  return client;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: JSON.parse(await response.text()) };
}

async function postJson(url: string, body: object): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: JSON.parse(await response.text()) };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('one client port for gRPC and HTTP', () => {
  it('serves gRPC, the JSON gateway, /health and gRPC health on the same port; a member without quorum turns unhealthy and back', async () => {
    cluster = await TestCluster.start(3);
    const [m1, m2, m3] = cluster.members as [typeof cluster.members[0], typeof cluster.members[0], typeof cluster.members[0]];
    const base = `http://127.0.0.1:${m1.clientPort}`;

    // Written over gRPC, read over HTTP, on the one port, and the other way round.
    await call(cluster.client(m1), 'Put', { key: Buffer.from('grpc-key'), value: Buffer.from('from grpc') });
    const read = await postJson(`${base}/v3/kv/range`, { key: b64('grpc-key') });
    expect(read.status).toBe(200);
    expect(Buffer.from(read.body.kvs[0].value, 'base64').toString()).toBe('from grpc');
    expect((await postJson(`${base}/v3/kv/put`, { key: b64('http-key'), value: b64('from http') })).status).toBe(200);
    const viaGrpc = await call(cluster.client(m1), 'Range', { key: Buffer.from('http-key') });
    expect(viaGrpc.kvs[0].value.toString()).toBe('from http');

    expect(await getJson(`${base}/health`)).toEqual({ status: 200, body: { health: 'true', reason: '' } });
    const health = healthClient(m1.clientPort);
    expect(await call(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    await expect(call(health, 'Check', { service: 'etcdserverpb.KV' })).rejects.toMatchObject({ code: 5, details: 'unknown service' });
    const watched: string[] = [];
    const watch = (health as unknown as { Watch(request: object): ClientReadableStream<{ status: string }> }).Watch({ service: '' });
    watch.on('data', (response) => watched.push(response.status));
    watch.on('error', () => {});

    // m1 loses both peers: no leader, so unhealthy on both protocols.
    await cluster.kill(m2);
    await cluster.kill(m3);
    const unhealthy = await eventually('/health false', async () => {
      const answer = await getJson(`${base}/health`);
      if (answer.status !== 503) throw new Error(`still ${answer.status}`);
      return answer;
    }, 60_000);
    expect(unhealthy.body).toMatchObject({ health: 'false' });
    expect((unhealthy.body as { reason: string }).reason).toMatch(/^(RAFT NO LEADER|RANGE ERROR:)/);
    await eventually('gRPC health NOT_SERVING', async () => expect(await call(health, 'Check', { service: '' })).toEqual({ status: 'NOT_SERVING' }), 60_000);
    await eventually('watched NOT_SERVING', async () => expect(watched).toContain('NOT_SERVING'));

    // Peers back: healthy again.
    cluster.launch(m2);
    cluster.launch(m3);
    await eventually('/health true', async () => expect(await getJson(`${base}/health`)).toEqual({ status: 200, body: { health: 'true', reason: '' } }), 60_000);
    await eventually('gRPC health SERVING', async () => expect(await call(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' }));
    await eventually('watched SERVING again', async () => expect(watched.slice(watched.indexOf('NOT_SERVING'))).toContain('SERVING'));
    watch.cancel();
  }, 180_000);

  it('answers /health, /readyz and /version as etcd 3.5 does for raised alarms, exclusions and the version Status reports', async () => {
    cluster = await TestCluster.start(1);
    const [m1] = cluster.members as [typeof cluster.members[0]];
    const base = `http://127.0.0.1:${m1.clientPort}`;
    const status = await call(cluster.client(m1, 'Maintenance'), 'Status', {});
    expect(await getJson(`${base}/version`)).toEqual({ status: 200, body: { etcdserver: status.version, etcdcluster: status.version.replace(/\.\d+$/, '.0') } });
    const alarm = (action: number, kind: number): Promise<unknown> => call(cluster!.client(m1, 'Maintenance'), 'Alarm', { action, memberID: status.header.member_id, alarm: kind });
    const [ACTIVATE, DEACTIVATE, NOSPACE, CORRUPT] = [1, 2, 1, 2];

    await alarm(ACTIVATE, NOSPACE);
    expect(await getJson(`${base}/health`)).toEqual({ status: 503, body: { health: 'false', reason: 'ALARM NOSPACE' } });
    expect(await getJson(`${base}/health?exclude=NOSPACE`)).toEqual({ status: 200, body: { health: 'true', reason: '' } });
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ok\n']);
    await alarm(DEACTIVATE, NOSPACE);
    expect(await getJson(`${base}/health`)).toEqual({ status: 200, body: { health: 'true', reason: '' } });

    await alarm(ACTIVATE, CORRUPT);
    expect(await getJson(`${base}/health`)).toEqual({ status: 503, body: { health: 'false', reason: 'ALARM CORRUPT' } });
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain('[-]data_corruption failed: alarm activated: CORRUPT\n');
    const oneCheck = await fetch(`${base}/readyz/linearizable_read`);
    expect([oneCheck.status, await oneCheck.text()]).toEqual([200, 'ok\n']);
    const live = await fetch(`${base}/livez?verbose`);
    expect([live.status, await live.text()]).toEqual([200, '[+]serializable_read ok\nlivez check passed\n']);
  }, 60_000);

  it('serves /metrics on the client port, counts a JSON call as a gRPC call as etcd does, and /metrics and /health alone on --listen-metrics-urls', async () => {
    const metricsPort = await freePort();
    cluster = await TestCluster.start(1, [`--listen-metrics-urls=http://127.0.0.1:${metricsPort}`]);
    const [m1] = cluster.members as [typeof cluster.members[0]];
    const base = `http://127.0.0.1:${m1.clientPort}`;
    const handledPuts = async (): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('grpc_server_handled_total{') && l.includes('grpc_method="Put"') && l.includes('grpc_code="OK"'));
      return Number(line?.split(' ').at(-1));
    };
    const before = await handledPuts();
    expect((await postJson(`${base}/v3/kv/put`, { key: b64('counted'), value: b64('v') })).status).toBe(200);
    await call(cluster.client(m1), 'Put', { key: Buffer.from('counted'), value: Buffer.from('v') });
    expect(await handledPuts()).toBe(before + 2);
    // A stream over HTTP ends counted too (as etcd's gateway streams are gRPC streams).
    const handledKeepAlives = async (): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('grpc_server_handled_total{') && l.includes('grpc_method="LeaseKeepAlive"') && l.includes('grpc_code="OK"'));
      return Number(line?.split(' ').at(-1));
    };
    const keepAlivesBefore = await handledKeepAlives();
    const lease = await postJson(`${base}/v3/lease/grant`, { TTL: 60 });
    const keptAlive = await fetch(`${base}/v3/lease/keepalive`, { method: 'POST', body: JSON.stringify({ ID: lease.body.ID }) });
    expect(JSON.parse(await keptAlive.text())).toMatchObject({ result: { ID: lease.body.ID, TTL: '60' } });
    await eventually('the keepalive counted as handled', async () => expect(await handledKeepAlives()).toBe(keepAlivesBefore + 1));

    const metricsBase = `http://127.0.0.1:${metricsPort}`;
    expect((await (await fetch(`${metricsBase}/metrics`)).text())).toContain('etcd_server_has_leader 1');
    expect(await getJson(`${metricsBase}/health`)).toEqual({ status: 200, body: { health: 'true', reason: '' } });
    for (const path of ['/version', '/readyz', '/v3/kv/range']) expect((await fetch(`${metricsBase}${path}`, { method: path.startsWith('/v3') ? 'POST' : 'GET' })).status).toBe(404);
  }, 60_000);

  it('keeps serving after connections that send too little, or junk, on either protocol', async () => {
    cluster = await TestCluster.start(1);
    const [m1] = cluster.members as [typeof cluster.members[0]];
    // Request targets Node takes but `new URL` refuses ("//" killed the member once).
    const odd = ['//', '///', '//[', '//a:b', '//:99999', 'http://', '/health?%zz'].map((target) => `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    for (const junk of ['', 'P', 'PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n\x00\x00', 'GET\r\n\r\n', '\x16\x03\x01\x00\x05hello', ...odd]) {
      await new Promise<void>((resolve) => {
        const socket = connect(m1.clientPort, '127.0.0.1', () => socket.end(junk));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
    expect((await getJson(`http://127.0.0.1:${m1.clientPort}/health`)).status).toBe(200);
    expect(await call(cluster.client(m1), 'Range', { key: Buffer.from('k') })).toMatchObject({ count: 0 });

    // A connection that never says which protocol it speaks is closed by the member, not kept.
    const silent = connect(m1.clientPort, '127.0.0.1', () => silent.write('P'));
    silent.on('error', () => {});
    await new Promise<void>((resolve) => silent.on('close', () => resolve()));
  }, 120_000);
});

describe('one client port with TLS and client certificates', () => {
  const trusted = makeCertificates(dir, 'cluster');
  const stranger = makeCertificates(dir, 'stranger');

  /** An HTTPS GET with `certificate` (or none), offering ALPN as curl does; the protocol and answer, or the error. */
  function httpsGet(port: number, path: string, certificate: TestCertificate | null): Promise<{ status: number; alpn: string | false; body: string } | Error> {
    return new Promise((resolve) => {
      const request = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          ca: readFileSync(trusted.ca),
          ...(certificate === null ? {} : { cert: readFileSync(certificate.cert), key: readFileSync(certificate.key) }),
          ALPNProtocols: ['h2', 'http/1.1'],
          timeout: 10_000,
        } as RequestOptions,
        (response) => {
          const alpn = (response.socket as { alpnProtocol?: string | false }).alpnProtocol ?? false;
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, alpn, body }));
        },
      );
      request.on('error', (error) => resolve(error));
      request.end();
    });
  }

  it('applies the same certificates and client-certificate check to HTTP and gRPC', async () => {
    cluster = await TestCluster.start(1, [], trusted);
    const [m1] = cluster.members as [typeof cluster.members[0]];
    const answer = await httpsGet(m1.clientPort, '/health', trusted);
    expect(answer).toEqual({ status: 200, alpn: 'http/1.1', body: '{"health":"true","reason":""}' });
    const health = healthClient(m1.clientPort, cluster.clientCredentials(trusted));
    expect(await call(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    for (const certificate of [null, stranger]) {
      expect(await httpsGet(m1.clientPort, '/health', certificate)).toBeInstanceOf(Error);
      const refused = healthClient(m1.clientPort, cluster.clientCredentials(certificate ?? 'none'));
      await expect(call(refused, 'Check', { service: '' }, 3000)).rejects.toMatchObject({ code: 14 });
    }
  }, 60_000);
});
