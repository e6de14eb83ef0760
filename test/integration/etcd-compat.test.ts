// The same command line starts etcd and raftkv, and etcd's own etcdctl works against raftkv.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../support/external.js';
import { freePort } from './harness.js';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'raftkv-compat-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** etcd's flags for a one-member cluster, as an etcd start script would write them. */
async function etcdStyleFlags(name: string): Promise<{ argv: string[]; endpoint: string }> {
  const client = await freePort();
  const peer = await freePort();
  return {
    endpoint: `127.0.0.1:${client}`,
    argv: [
      '--name', name,
      '--data-dir', join(root, name),
      '--listen-client-urls', `http://127.0.0.1:${client}`,
      '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `${name}=http://127.0.0.1:${peer}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', 'compat',
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--snapshot-count', '10000',
      '--max-request-bytes', '1572864',
      '--quota-backend-bytes', '2147483648',
      '--log-level', 'error',
    ],
  };
}

describeWithBinaries(['etcd', 'etcdctl'], 'etcd compatibility', (paths) => {
  const etcdctl = async (endpoint: string, ...args: string[]): Promise<string> => {
    const { stdout } = await run(paths.etcdctl, [`--endpoints=${endpoint}`, '--command-timeout=5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    return stdout;
  };
  /** etcdctl 3.4 prints `endpoint health` on stderr. */
  const health = async (endpoint: string): Promise<string> => {
    const { stdout, stderr } = await run(paths.etcdctl, [`--endpoints=${endpoint}`, 'endpoint', 'health'], { env: { ...process.env, ETCDCTL_API: '3' } });
    return stdout + stderr;
  };
  const waitHealthy = async (endpoint: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      let answer: unknown;
      try {
        answer = await health(endpoint);
        if (String(answer).includes('is healthy')) return;
      } catch (error) {
        answer = error;
      }
      if (Date.now() > deadline) throw new Error(`${endpoint} not healthy: ${String(answer)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  it('starts etcd and raftkv from the same etcd command line, and etcdctl works against both', async () => {
    const reference = await etcdStyleFlags('etcd-ref');
    const ours = await etcdStyleFlags('raftkv-1');
    children.push(spawn(paths.etcd, reference.argv, { stdio: 'ignore' }));
    children.push(spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'raftkv'), ...ours.argv], { stdio: 'ignore' }));
    for (const endpoint of [reference.endpoint, ours.endpoint]) {
      await waitHealthy(endpoint);
      expect(await etcdctl(endpoint, 'put', 'color', 'blue')).toBe('OK\n');
      expect(await etcdctl(endpoint, 'put', 'colour', 'red')).toBe('OK\n');
      expect(await etcdctl(endpoint, 'get', 'color')).toBe('color\nblue\n');
      expect(await etcdctl(endpoint, 'get', 'colo', '--prefix', '--print-value-only')).toBe('blue\nred\n');
      const members = await etcdctl(endpoint, 'member', 'list');
      expect(members).toMatch(/started, (etcd-ref|raftkv-1), http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false/);
      const status = JSON.parse(await etcdctl(endpoint, 'endpoint', 'status', '-w', 'json'));
      expect(status[0].Status.leader).toBe(status[0].Status.header.member_id);
    }
  }, 60_000);
});
