// Runs workloads against clusters this harness starts itself: one cluster shared by the workloads
// that can share it (its cold start is the election measurement), and a fresh cluster for each
// workload whose measurement is the cluster's own state.

import { join } from 'node:path';
import { LocalCluster, type System } from './local-cluster.js';
import { primeCluster } from './prime.js';
import type { Log } from './progress.js';
import { runWorkload } from './run-workload.js';
import { errorMessage } from './time.js';
import { failedOutcomes, type BenchOptions, type MetricOutcomes, type Workload } from './workload.js';

const START_TIMEOUT_MS = 60_000;

export type WorkloadResults = Map<string, MetricOutcomes>;

let clusterCount = 0;

async function newCluster(system: System, directory: string): Promise<LocalCluster> {
  clusterCount++;
  return LocalCluster.create(system, join(directory, `${system.name}-${clusterCount}`));
}

function withLogTails(cluster: LocalCluster, message: string): string {
  const tails = cluster.members.map((member) => `${member.name}: ${cluster.logTail(member, 400).trim() || '(no output)'}`);
  return `${message}\n${tails.join('\n')}`;
}

/** Brings a cluster whose members a workload may have killed back to three running members that agree on a leader. */
async function healthy(cluster: LocalCluster, log: Log): Promise<void> {
  for (const member of cluster.members) {
    if (member.process !== null) continue;
    // Said out loud: a member that crashed on its own is news, not something to restart quietly.
    log(`${member.name} was not running (${member.lastExit ?? 'never started'}): restarting it`);
    cluster.spawn(member);
  }
  await cluster.waitForLeader(START_TIMEOUT_MS);
}

export async function runOnLocalClusters(
  system: System,
  directory: string,
  workloads: readonly Workload[],
  options: BenchOptions,
  log: Log,
): Promise<WorkloadResults> {
  const results: WorkloadResults = new Map();
  const coldStart = workloads.find((workload) => workload.needs === 'unstarted-processes');
  const shared = workloads.filter((workload) => workload.needs === 'endpoints' || workload.needs === 'processes');
  const fresh = workloads.filter((workload) => workload.needs === 'fresh-processes');

  if (coldStart !== undefined || shared.length > 0) {
    const cluster = await newCluster(system, directory);
    const context = { client: cluster.client, cluster, options, log };
    try {
      if (coldStart !== undefined) results.set(coldStart.name, await runWorkload(coldStart, context));
      else cluster.spawnAll();
      let primed = false;
      for (const workload of shared) {
        try {
          await healthy(cluster, log);
        } catch (error) {
          const message = withLogTails(cluster, `the cluster is not healthy: ${errorMessage(error)}`);
          log(message);
          for (const rest of shared.filter((w) => !results.has(w.name))) results.set(rest.name, failedOutcomes(rest.metrics, message.split('\n')[0]));
          break;
        }
        if (!primed) {
          primed = true;
          await primeCluster(cluster.client, options.primeMs, log);
        }
        results.set(workload.name, await runWorkload(workload, context));
      }
    } finally {
      await cluster.stop();
    }
  }

  for (const workload of fresh) {
    const cluster = await newCluster(system, directory);
    try {
      log(`${workload.name}: starting a fresh cluster`);
      await cluster.start(START_TIMEOUT_MS);
      results.set(workload.name, await runWorkload(workload, { client: cluster.client, cluster, options, log }));
    } catch (error) {
      const message = withLogTails(cluster, `the cluster did not start: ${errorMessage(error)}`);
      log(message);
      results.set(workload.name, failedOutcomes(workload.metrics, message.split('\n')[0]));
    } finally {
      await cluster.stop();
    }
  }
  return results;
}
