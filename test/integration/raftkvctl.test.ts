// raftkvctl against a real three-member cluster: etcdctl's command shapes and simple output.

import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './harness.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'raftkvctl');
let cluster: TestCluster;
let endpoints: string;

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  endpoints = cluster.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
}, 60_000);
afterAll(async () => {
  await cluster.stop();
});

async function ctl(args: string[], input?: string): Promise<string> {
  const child = run(process.execPath, [BIN, `--endpoints=${endpoints}`, ...args]);
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return (await child).stdout;
}

describe('raftkvctl', () => {
  it('puts, gets, deletes and runs transactions like etcdctl', async () => {
    expect(await ctl(['put', 'fruit/apple', 'red'])).toBe('OK\n');
    expect(await ctl(['put', 'fruit/kiwi', 'green'])).toBe('OK\n');
    expect(await ctl(['get', 'fruit/', '--prefix'])).toBe('fruit/apple\nred\nfruit/kiwi\ngreen\n');
    expect(await ctl(['get', 'fruit/', '--prefix', '--keys-only'])).toBe('fruit/apple\nfruit/kiwi\n');
    expect(await ctl(['get', 'fruit/', '--prefix', '--print-value-only', '--sort-by=VALUE', '--order=DESCEND'])).toBe('red\ngreen\n');
    const json = JSON.parse(await ctl(['get', 'fruit/apple', '-w', 'json']));
    expect(Buffer.from(json.kvs[0].value, 'base64').toString()).toBe('red');
    expect(await ctl(['txn'], 'value("fruit/apple") = "red"\n\nput fruit/apple ripe\n\nget fruit/apple\n\n')).toBe('SUCCESS\n\nOK\n');
    expect(await ctl(['del', 'fruit/kiwi', '--prev-kv'])).toBe('1\nfruit/kiwi\ngreen\n');
    expect(await ctl(['get', 'fruit/', '--prefix', '--print-value-only'])).toBe('ripe\n');
  });

  it('lists members and reports endpoint status and health', async () => {
    const members = (await ctl(['member', 'list'])).trim().split('\n');
    expect(members).toHaveLength(3);
    for (const line of members) expect(line).toMatch(/^[0-9a-f]+, started, m\d, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false$/);
    const status = (await ctl(['endpoint', 'status'])).trim().split('\n');
    expect(status.filter((line) => line.split(', ')[4] === 'true')).toHaveLength(1);
    expect(await ctl(['endpoint', 'health'])).toMatch(/is healthy: successfully committed proposal/);
  });

  it('watches a prefix from a revision with prev values, as etcdctl prints them', async () => {
    const first = JSON.parse(await ctl(['put', 'w/a', '1', '-w', 'json'])).header.revision;
    await ctl(['put', 'w/a', '2']);
    const child = spawn(process.execPath, [BIN, `--endpoints=${endpoints}`, 'watch', 'w/', '--prefix', '--prev-kv', `--rev=${first}`]);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await ctl(['del', 'w/a']);
    const deadline = Date.now() + 30_000; // generous: two CLI processes start on a possibly loaded machine
    while (!output.includes('DELETE') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill();
    expect(output).toBe('PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\nDELETE\nw/a\n2\nw/a\n\n');
  });

  it('grants, inspects, keeps alive, lists and revokes leases; revoking deletes the attached key', async () => {
    const granted = await ctl(['lease', 'grant', '30']);
    const match = /^lease ([0-9a-f]{16}) granted with TTL\(30s\)\n$/.exec(granted);
    expect(match).not.toBeNull();
    const id = match![1];
    expect(await ctl(['put', 'leased', 'v', `--lease=${id}`])).toBe('OK\n');
    // The remainder depends on how long the commands took: bounded by the grant, above zero.
    const shown = await ctl(['lease', 'timetolive', id, '--keys']);
    const format = new RegExp(`^lease ${id} granted with TTL\\(30s\\), remaining\\((-?\\d+)s\\), attached keys\\(\\[leased\\]\\)\n$`);
    expect(shown).toMatch(format);
    const remainingSeconds = Number(format.exec(shown)![1]);
    expect(remainingSeconds).toBeGreaterThan(0);
    expect(remainingSeconds).toBeLessThanOrEqual(30);
    expect(await ctl(['lease', 'keep-alive', '--once', id])).toBe(`lease ${id} keepalived with TTL(30)\n`);
    expect(await ctl(['lease', 'list'])).toContain(`\n${id}\n`);
    expect(await ctl(['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
    expect(await ctl(['get', 'leased'])).toBe('');
    expect(await ctl(['lease', 'timetolive', id])).toBe(`lease ${id} already expired\n`);
    await expect(ctl(['put', 'leased', 'v', `--lease=${id}`])).rejects.toMatchObject({ stderr: 'Error: etcdserver: requested lease not found\n' });
  });

  it('exits non-zero with etcd’s message on an error', async () => {
    await expect(ctl(['compaction', '999999'])).rejects.toMatchObject({ stderr: 'Error: etcdserver: mvcc: required revision is a future revision\n' });
  });
});
