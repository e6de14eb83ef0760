// No committed entry can stop a member. The request checks refuse hostile input before it is
// proposed; this test goes around them (the propose-entries failpoint commits entries unchecked, as
// an older version or a missed check would) and shows that every member applies each kind of
// hostile entry without stopping, that all of them agree afterwards, and that they all still serve
// after every member is killed and replays its log.

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfChangeType, encodeConfChange, type ConfChange } from '../../src/raft/index.js';
import { encodeInternalRequest, encodeMemberContext, type InternalRequest } from '../../src/server/requests.js';
import { TestCluster, call, eventually, freePort, type MemberProcess } from './harness.js';

let cluster: TestCluster;
let proposer: MemberProcess;
let failpointPort: number;
let round = 0;

const bytes = (text: string): Buffer => Buffer.from(text);

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  proposer = cluster.members[0];
  failpointPort = await freePort();
  await cluster.kill(proposer);
  cluster.launch(proposer, [], { RAFTKV_FAILPOINTS_ADDR: `127.0.0.1:${failpointPort}` });
  await cluster.waitForLeader();
}, 60_000);
afterAll(async () => {
  await cluster.stop();
});

function setFailpoint(name: string, value: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const put = request({ host: '127.0.0.1', port: failpointPort, method: 'PUT', path: `/${name}` }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`failpoint ${name}: HTTP ${response.statusCode}`))));
    });
    put.on('error', reject);
    put.end(value);
  });
}

type Entry = { type: 'normal'; data: Uint8Array } | { type: 'conf-change'; data: Uint8Array };

const normal = (request: Omit<InternalRequest, 'member_id' | 'request_id'>): Entry => ({
  type: 'normal',
  data: encodeInternalRequest({ member_id: 0, request_id: 0, ...request }),
});

function confChange(type: ConfChange['type'], nodeId: number, peerUrls: string[] | Uint8Array): Entry {
  const context = peerUrls instanceof Uint8Array ? peerUrls : encodeMemberContext({ id: nodeId, peer_urls: peerUrls, is_learner: type === ConfChangeType.AddLearnerNode });
  return { type: 'conf-change', data: encodeConfChange({ type, nodeId, context }) };
}

/** Commits `entries` unchecked, then a marker put, and waits until every member has applied it. */
async function commitUnchecked(entries: Entry[]): Promise<void> {
  const marker = `hostile-round-${++round}`;
  const all = [...entries, normal({ put: { key: bytes(marker), value: bytes('applied') } })];
  await setFailpoint('propose-entries', JSON.stringify(all.map((entry) => ({ type: entry.type, data: Buffer.from(entry.data).toString('base64') }))));
  for (const member of cluster.members) {
    await eventually(`${member.name} applies ${marker}`, async () => {
      const read = await call(cluster.client(member), 'Range', { key: bytes(marker), serializable: true }, 2000);
      if (read.kvs.length !== 1) throw new Error('not yet');
    });
  }
}

async function expectEveryMemberServing(): Promise<void> {
  for (const member of cluster.members) {
    expect(member.process?.exitCode ?? null, `${member.name} exited:\n${member.output.slice(-3000)}`).toBeNull();
    const key = bytes(`alive-${member.name}-${round}`);
    await call(cluster.client(member), 'Put', { key, value: bytes('yes') });
    const read = await call(cluster.client(member), 'Range', { key });
    expect(read.kvs[0].value.toString()).toBe('yes');
  }
}

async function memberUrls(): Promise<string[][]> {
  const list = await call(cluster.client(cluster.members[1], 'Cluster'), 'MemberList', { linearizable: true });
  return list.members.map((m: { peerURLs: string[] }) => m.peerURLs).sort();
}

describe('committed hostile entries', () => {
  const originalUrls: string[][] = [];

  it('membership changes with URLs the transport cannot dial change nothing', async () => {
    originalUrls.push(...(await memberUrls()));
    const statuses = await Promise.all(cluster.members.map((m) => call(cluster.client(m, 'Maintenance'), 'Status', {})));
    const existingId = Number(statuses[1].header.member_id);
    // One change per round: the core accepts one configuration change at a time.
    for (const entry of [
      confChange(ConfChangeType.AddNode, 4242, ['http://127.0.0.1:9999/some/path']),
      confChange(ConfChangeType.AddLearnerNode, 4243, ['not a url']),
      confChange(ConfChangeType.AddNode, 4244, []),
      confChange(ConfChangeType.UpdateNode, existingId, ['http://127.0.0.1:1/path']),
      confChange(ConfChangeType.AddNode, 4245, Uint8Array.of(0xff, 0xff, 0xff)),
    ]) {
      await commitUnchecked([entry]);
      await expectEveryMemberServing();
    }
    expect(await memberUrls()).toEqual(originalUrls);
  });

  it('client requests that the checks refuse fail alike on every member', async () => {
    const prior = await call(cluster.client(proposer), 'Put', { key: bytes('guard'), value: bytes('kept') });
    await commitUnchecked([
      { type: 'normal', data: Uint8Array.of(0xff, 0x01, 0x02) },
      normal({}),
      normal({ put: { key: new Uint8Array(0), value: bytes('empty key') } }),
      normal({ delete_range: { key: new Uint8Array(0), range_end: Uint8Array.of(0) } }),
      normal({ put: { key: bytes('guard'), value: bytes('x'), lease: 987654321n } }),
      normal({ put: { key: bytes('missing'), ignore_value: true } }),
      normal({ txn: { success: Array.from({ length: 300 }, () => ({ request_put: { key: bytes('guard'), value: bytes('dup') } })) } }),
      normal({ txn: { success: [{ request_put: { key: new Uint8Array(0), value: bytes('v') } }] } }),
      normal({ txn: { success: [{}] } }),
      normal({ compaction: { revision: -5 } }),
      normal({ compaction: { revision: 10 ** 12 } }),
      normal({ lease_revoke: { ID: 123n } }),
      normal({ lease_grant: { ID: 0n, TTL: 60 } }),
      normal({ alarm: { action: 7, memberID: 1, alarm: 99 } }),
      normal({ publish: { member_id: 777, name: 'ghost', client_urls: ['::'] } }),
    ]);
    await expectEveryMemberServing();
    // The empty-key delete with range_end "\0" would have deleted every key.
    expect((await call(cluster.client(proposer), 'Range', { key: bytes('hostile-round-1') })).kvs).toHaveLength(1);
    const guard = await call(cluster.client(proposer), 'Range', { key: bytes('guard') });
    // The 300-op Txn is not refused at apply (etcd does not re-check there): its last put wins.
    expect(guard.kvs[0].mod_revision).toBeGreaterThan(Number(prior.header.revision));
    const revision = Number((await call(cluster.client(proposer), 'Range', { key: bytes('guard') })).header.revision);
    const hashes = await Promise.all(cluster.members.map((m) => call(cluster.client(m, 'Maintenance'), 'HashKV', { revision })));
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    // Lease 0 means "no lease" on every key: a grant of it must not create one.
    const leases = await call(cluster.client(proposer, 'Lease'), 'LeaseLeases', {});
    expect(leases.leases.map((lease: { ID: unknown }) => String(lease.ID))).not.toContain('0');
  });

  it('every member still serves after all are killed and replay their logs', async () => {
    for (const member of cluster.members) await cluster.kill(member);
    for (const member of cluster.members) cluster.launch(member);
    await cluster.waitForLeader();
    await expectEveryMemberServing();
    expect(await memberUrls()).toEqual(originalUrls);
  });
});
