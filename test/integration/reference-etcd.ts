// The one-member etcd 3.4 that the differential tests (etcdctl-compare, http-compare) compare
// raftkv against: fast elections, quiet logs, its own data dir under the test's root.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type TestCluster } from './harness.js';

export interface ReferenceEtcd {
  readonly child: ChildProcess;
  readonly clientPort: number;
}

/** Spawns the reference etcd; the caller kills `child` by its pid when done. */
export async function spawnReferenceEtcd(etcdBinary: string, root: string, extraFlags: readonly string[] = []): Promise<ReferenceEtcd> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const child = spawn(etcdBinary, [
    '--name', 'etcd-ref',
    '--data-dir', join(root, 'etcd-ref'),
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`,
    '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `etcd-ref=http://127.0.0.1:${peerPort}`,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', 'compare',
    '--heartbeat-interval', '50',
    '--election-timeout', '500',
    '--log-level', 'error',
    ...extraFlags,
  ], { stdio: 'ignore' });
  return { child, clientPort };
}

/** A comparison's temp root and processes, and the afterAll that removes them. */
export class ComparisonProcesses {
  readonly root: string;
  readonly children: ChildProcess[] = [];

  constructor(prefix: string) {
    this.root = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Kills the etcd members (by the pids spawned), stops the raftkv cluster, removes the root. */
  async remove(cluster: TestCluster | null): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    await cluster?.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}
