// Runs workloads against clusters this harness starts itself: one cluster per system shared by the
// workloads that can share it (its cold start is the election measurement), and a fresh cluster
// for each workload whose measurement is the cluster's own state.
//
// A comparison runs the systems' shared clusters side by side and each shared workload on one
// system right after the other, so the two numbers of a pair are taken seconds apart: on a
// machine whose speed drifts by a third over minutes (a shared VM), a pair taken minutes apart
// measures the drift as much as the systems.

import { join } from 'node:path';
import { LocalCluster, type System } from './local-cluster.js';
import { MetricsScraper } from './metrics-scraper.js';
import { primeCluster } from './prime.js';
import type { Log } from './progress.js';
import { runWorkload } from './run-workload.js';
import { errorMessage } from './time.js';
import { failedOutcomes, type BenchOptions, type MetricOutcomes, type Workload, type WorkloadContext } from './workload.js';

const START_TIMEOUT_MS = 60_000;

export type WorkloadResults = Map<string, MetricOutcomes>;

let clusterCount = 0;

async function newCluster(system: System, directory: string, memberFlags: readonly string[] = []): Promise<LocalCluster> {
  clusterCount++;
  return LocalCluster.create(system, join(directory, `${system.name}-${clusterCount}`), memberFlags);
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

function coldStartOf(workloads: readonly Workload[]): Workload | undefined {
  return workloads.find((workload) => workload.needs === 'unstarted-processes');
}

function sharedOf(workloads: readonly Workload[]): Workload[] {
  return workloads.filter((workload) => workload.needs === 'endpoints' || workload.needs === 'processes');
}

function freshOf(workloads: readonly Workload[]): Workload[] {
  return workloads.filter((workload) => workload.needs === 'fresh-processes');
}

/** One system's part of a run: its shared cluster, and the outcome of every workload it ran. */
class SystemRun {
  readonly results: WorkloadResults = new Map();
  private cluster: LocalCluster | null = null;
  private scraper: MetricsScraper | null = null;
  /** Why the shared cluster can serve no more workloads; they fail with this. */
  private broken: string | null = null;

  constructor(
    readonly system: System,
    private readonly directory: string,
    private readonly options: BenchOptions,
    readonly log: Log,
  ) {}

  /** Starts the shared cluster (through the cold-start workload when there is one), then primes it. */
  async begin(coldStart: Workload | undefined): Promise<void> {
    const cluster = await newCluster(this.system, this.directory);
    this.cluster = cluster;
    if (coldStart !== undefined) this.results.set(coldStart.name, await runWorkload(coldStart, this.context(cluster)));
    else cluster.spawnAll();
    if (this.options.scrapeMetricsMs > 0) {
      this.scraper = new MetricsScraper(() => cluster.liveMembers.map((member) => cluster.endpointOf(member)), this.options.scrapeMetricsMs);
      this.scraper.start();
    }
    try {
      await healthy(cluster, this.log);
      await primeCluster(cluster.client, this.options.primeMs, this.log);
    } catch (error) {
      this.markBroken(cluster, `the cluster is not healthy: ${errorMessage(error)}`);
    }
  }

  async runShared(workload: Workload): Promise<void> {
    const cluster = this.cluster;
    if (cluster === null) throw new Error('runShared before begin');
    if (this.broken === null) {
      try {
        await healthy(cluster, this.log);
      } catch (error) {
        this.markBroken(cluster, `the cluster is not healthy: ${errorMessage(error)}`);
      }
    }
    const outcomes = this.broken === null ? await runWorkload(workload, this.context(cluster)) : failedOutcomes(workload.metrics, this.broken);
    this.results.set(workload.name, outcomes);
  }

  async end(): Promise<void> {
    if (this.scraper !== null) {
      this.scraper.stop();
      this.log(`/metrics scraped ${this.scraper.scrapes} times (${this.scraper.failures} failed)`);
      this.scraper = null;
    }
    await this.cluster?.stop();
    this.cluster = null;
  }

  async runFresh(workload: Workload): Promise<void> {
    const cluster = await newCluster(this.system, this.directory, workload.memberFlags);
    try {
      this.log(`${workload.name}: starting a fresh cluster`);
      await cluster.start(START_TIMEOUT_MS);
      this.results.set(workload.name, await runWorkload(workload, this.context(cluster)));
    } catch (error) {
      const message = withLogTails(cluster, `the cluster did not start: ${errorMessage(error)}`);
      this.log(message);
      this.results.set(workload.name, failedOutcomes(workload.metrics, message.split('\n')[0]));
    } finally {
      await cluster.stop();
    }
  }

  private context(cluster: LocalCluster): WorkloadContext {
    return { client: cluster.client, cluster, options: this.options, log: this.log };
  }

  private markBroken(cluster: LocalCluster, reason: string): void {
    const message = withLogTails(cluster, reason);
    this.log(message);
    this.broken = message.split('\n')[0];
  }
}

/** Every workload on one system's local clusters. */
export async function runOnLocalClusters(
  system: System,
  directory: string,
  workloads: readonly Workload[],
  options: BenchOptions,
  log: Log,
): Promise<WorkloadResults> {
  const [results] = await runSideBySide([{ system, log }], directory, workloads, options);
  return results;
}

/**
 * Every workload on each system's local clusters, in the order given: the cold starts one after
 * the other, then both shared clusters running side by side (the one not measured is idle) while
 * each shared workload runs on one system and then the next, then each fresh-cluster workload
 * likewise. Returns each system's results, in the same order.
 */
export async function runSideBySide(
  systems: readonly { system: System; log: Log }[],
  directory: string,
  workloads: readonly Workload[],
  options: BenchOptions,
): Promise<WorkloadResults[]> {
  const runs = systems.map(({ system, log }) => new SystemRun(system, directory, options, log));
  const shared = sharedOf(workloads);
  const coldStart = coldStartOf(workloads);
  if (coldStart !== undefined || shared.length > 0) {
    try {
      for (const run of runs) await run.begin(coldStart);
      for (const workload of shared) {
        for (const run of runs) await run.runShared(workload);
      }
    } finally {
      for (const run of runs) await run.end();
    }
  }
  for (const workload of freshOf(workloads)) {
    for (const run of runs) await run.runFresh(workload);
  }
  return runs.map((run) => run.results);
}
