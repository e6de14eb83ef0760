// Lease IDs are signed 64-bit, as in etcd 3.4, which accepts any int64 ID in LeaseGrant (checked
// against etcd 3.4.23: 2^63−1, −2^63, 2^53+1 and −1 are granted as asked, work in Put, Range,
// watch events, TimeToLive, LeaseLeases, LEASE compares in signed order, keep-alives, and revoke).
// A three-member cluster over gRPC: grants, keep-alives and time-to-live go through a follower (the
// keep-alive and TTL forwarded to the leader), and every member is killed and restarted, after
// which the leases and their keys must be exactly as before.
//
// This test's client reads every int64 as a decimal string (the harness's client reads numbers, so
// it could not tell 2^53+1 from 2^53) and sends IDs as decimal strings, which protobufjs encodes
// exactly. On the server, IDs that a double does not hold (2^63−1, 2^53+1) arrive exactly through
// the strict request decoder (src/api/wire); proto-loader rounded them to doubles.

import { loadSync } from '@grpc/proto-loader';
import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_ROOT } from '../../src/grpc/proto-root.js';
import { call, eventually, TestCluster, type MemberProcess } from './harness.js';

const definition = loadSync('etcdserverpb/rpc.proto', { includeDirs: [PROTO_ROOT], keepCase: true, longs: String, enums: Number, bytes: Buffer, defaults: true, oneofs: true });
const etcdserverpb = loadPackageDefinition(definition).etcdserverpb as GrpcObject;
type Service = 'KV' | 'Lease' | 'Watch';

const LEASE_TARGET = 4;
const EQUAL = 0;
const GREATER = 1;
const LESS = 2;

const CASES: Array<{ name: string; id: bigint }> = [
  { name: '2^63-1', id: 2n ** 63n - 1n },
  { name: '-2^63', id: -(2n ** 63n) },
  { name: '2^53+1', id: 2n ** 53n + 1n },
  { name: '-1', id: -1n },
];

const bytes = (text: string): Buffer => Buffer.from(text);
const keyOf = (id: bigint): string => `int64/${id}`;

describe('int64 lease IDs end to end', () => {
  let cluster: TestCluster;
  const clients = new Map<string, Client>();

  const client = (member: MemberProcess, service: Service): Client => {
    const key = `${member.name}/${service}/${member.clientPort}`;
    let found = clients.get(key);
    if (found === undefined) {
      found = new (etcdserverpb[service] as ServiceClientConstructor)(`127.0.0.1:${member.clientPort}`, credentials.createInsecure());
      clients.set(key, found);
    }
    return found;
  };
  const lease = (member: MemberProcess, method: string, request: object = {}): Promise<any> => call(client(member, 'Lease'), method, request);
  const kv = (member: MemberProcess, method: string, request: object): Promise<any> => call(client(member, 'KV'), method, request);
  const follower = async (): Promise<MemberProcess> => {
    const leader = await cluster.waitForLeader();
    return cluster.members.find((member) => member !== leader && member.process !== null)!;
  };
  const keepAlive = (member: MemberProcess, id: bigint): Promise<any> =>
    new Promise((resolve, reject) => {
      const stream = (client(member, 'Lease') as unknown as { LeaseKeepAlive(): ClientDuplexStream<any, any> }).LeaseKeepAlive();
      stream.on('data', (response) => {
        resolve(response);
        stream.end();
      });
      stream.on('error', reject);
      stream.write({ ID: String(id) });
    });
  /** The first event a watch from `startRevision` on `key` reports. */
  const firstEvent = (member: MemberProcess, key: string, startRevision: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const stream = (client(member, 'Watch') as unknown as { Watch(): ClientDuplexStream<any, any> }).Watch();
      stream.on('data', (response) => {
        if (response.events.length === 0) return;
        resolve(response.events[0]);
        stream.cancel();
      });
      stream.on('error', (error: { code?: number }) => {
        if (error.code !== 1) reject(error);
      });
      stream.write({ create_request: { key: bytes(key), start_revision: startRevision, prev_kv: true } });
    });

  beforeAll(async () => {
    cluster = await TestCluster.start(3);
  }, 60_000);

  afterAll(async () => {
    for (const found of clients.values()) found.close();
    await cluster?.stop();
  });

  describe.each(CASES)('lease $name', (c) => {
    const id = String(c.id);
    let putRevision = '';

    it(`${c.name}: granted through a follower with exactly the ID asked`, async () => {
      const granted = await lease(await follower(), 'LeaseGrant', { TTL: 600, ID: id });
      expect(granted.ID).toBe(id);
      expect(granted.TTL).toBe('600');
    });

    it(`${c.name}: a put with it shows the exact lease in Range, in a watch event and in TimeToLive`, async () => {
      const member = await follower();
      const put = await kv(member, 'Put', { key: bytes(keyOf(c.id)), value: bytes('v'), lease: id });
      putRevision = put.header.revision;
      const range = await kv(member, 'Range', { key: bytes(keyOf(c.id)) });
      expect(range.kvs.map((entry: any) => entry.lease)).toEqual([id]);
      const event = await firstEvent(member, keyOf(c.id), putRevision);
      expect(event.kv.lease).toBe(id);
      const ttl = await lease(member, 'LeaseTimeToLive', { ID: id, keys: true });
      expect(ttl.ID).toBe(id);
      expect(ttl.grantedTTL).toBe('600');
      expect(ttl.keys.map(String)).toEqual([keyOf(c.id)]);
    });

    it(`${c.name}: an ignore_lease put keeps it; LEASE compares order it as a signed int64`, async () => {
      const member = await follower();
      await kv(member, 'Put', { key: bytes(keyOf(c.id)), value: bytes('w'), ignore_lease: true });
      expect((await kv(member, 'Range', { key: bytes(keyOf(c.id)) })).kvs[0].lease).toBe(id);
      const holds = async (result: number, other: bigint): Promise<boolean> =>
        (await kv(member, 'Txn', { compare: [{ key: bytes(keyOf(c.id)), target: LEASE_TARGET, result, lease: String(other) }] })).succeeded;
      expect(await holds(EQUAL, c.id)).toBe(true);
      if (c.id > 0n) expect(await holds(EQUAL, c.id - 1n)).toBe(false);
      expect(await holds(c.id < 0n ? LESS : GREATER, 0n)).toBe(true);
    });

    it(`${c.name}: LeaseLeases lists it exactly; a keep-alive through a follower renews it`, async () => {
      const member = await follower();
      expect((await lease(member, 'LeaseLeases')).leases.map((status: any) => status.ID)).toContain(id);
      const answer = await keepAlive(member, c.id);
      expect([answer.ID, answer.TTL]).toEqual([id, '600']);
    });
  });

  it('every member is killed and restarted', async () => {
    for (const member of cluster.members) await cluster.kill(member);
    for (const member of cluster.members) cluster.launch(member);
    await cluster.waitForLeader();
  }, 30_000);

  it.each(CASES)('$name: after the restart, every member holds the lease and its key exactly as before', async (c) => {
    for (const member of cluster.members) {
      await eventually(`${member.name} lists the lease`, async () => {
        expect((await lease(member, 'LeaseLeases')).leases.map((status: any) => status.ID)).toContain(String(c.id));
      }, 10_000);
      const range = await kv(member, 'Range', { key: bytes(keyOf(c.id)), serializable: true });
      expect(range.kvs.map((entry: any) => entry.lease)).toEqual([String(c.id)]);
    }
    const ttl = await lease(await follower(), 'LeaseTimeToLive', { ID: String(c.id), keys: true });
    expect([ttl.ID, ttl.grantedTTL, ttl.keys.map(String)]).toEqual([String(c.id), '600', [keyOf(c.id)]]);
  }, 40_000);

  it.each(CASES)('$name: revoking deletes its key; the ID is gone from every list', async (c) => {
    const member = await follower();
    await lease(member, 'LeaseRevoke', { ID: String(c.id) });
    expect((await kv(member, 'Range', { key: bytes(keyOf(c.id)) })).kvs).toEqual([]);
    const ttl = await lease(member, 'LeaseTimeToLive', { ID: String(c.id) });
    expect([ttl.ID, ttl.TTL]).toEqual([String(c.id), '-1']);
    await eventually('no member lists it', async () => {
      for (const other of cluster.members) expect((await lease(other, 'LeaseLeases')).leases.map((status: any) => status.ID)).not.toContain(String(c.id));
    });
  });
});
