// A raftkv cluster whose members each serve /metrics on a --listen-metrics-urls port of their own,
// and a throwaway etcd 3.4 with one, for tests that read or compare /metrics.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, eventually, freePort, TestCluster, type MemberProcess } from './harness.js';
import { scrape, valueOf, type Exposition } from '../support/prometheus-text.js';

/** Each member's metrics port, by member name. */
export const metricsPorts = new Map<string, number>();

export function metricsUrl(member: MemberProcess): string {
  const port = metricsPorts.get(member.name);
  if (port === undefined) throw new Error(`${member.name} has no metrics port`);
  return `http://127.0.0.1:${port}/metrics`;
}

/** `size` members, each with --listen-metrics-urls on a port of its own, and `flags`. */
export function startClusterWithMetrics(size: number, flags: string[] = []): Promise<TestCluster> {
  return TestCluster.start(size, flags, null, async (members) => {
    for (const member of members) {
      const port = await freePort();
      metricsPorts.set(member.name, port);
      member.flags = [`--listen-metrics-urls=http://127.0.0.1:${port}`];
    }
  });
}

export async function scrapeMember(member: MemberProcess): Promise<Exposition> {
  return (await scrape(metricsUrl(member))).exposition;
}

/** The member's id as etcd's metric labels write it (hex, no padding), from its Status. */
export async function memberIdLabel(cluster: TestCluster, member: MemberProcess): Promise<string> {
  const status = await call(cluster.client(member, 'Maintenance'), 'Status', {});
  return BigInt(status.header.member_id).toString(16);
}

export interface EtcdWithMetrics {
  readonly metricsUrl: string;
  stop(): Promise<void>;
}

/** One etcd 3.4 member with a metrics URL, once it has a leader; stopped by its own pid. */
export async function startEtcdWithMetrics(): Promise<EtcdWithMetrics> {
  const dataDir = mkdtempSync(join(tmpdir(), 'raftkv-metrics-etcd-'));
  const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn('etcd', [
    '--name=e1', `--data-dir=${dataDir}`,
    `--listen-client-urls=http://127.0.0.1:${client}`, `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=e1=http://127.0.0.1:${peer}`, `--listen-metrics-urls=http://127.0.0.1:${metrics}`,
    '--log-level=warn', '--logger=zap',
  ], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${metrics}/metrics`;
  try {
    await eventually('etcd has a leader', async () => {
      if (valueOf((await scrape(url)).exposition, 'etcd_server_has_leader') !== 1) throw new Error('no leader yet');
    }, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { metricsUrl: url, stop };
}
