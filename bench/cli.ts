// `npm run bench -- <workload> --endpoints a,b,c [--duration s] [--json]`: one workload against any
// etcd-v3 endpoints. Workloads that kill members, read their memory or time their start need
// processes of their own: `--system etcd|raftkv` starts a local three-member cluster instead.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, positiveNumber, secondsAsMs, UsageError } from './args.js';
import { BenchClient } from './client.js';
import { ensureEtcd } from './etcd-binary.js';
import { formatNumber } from './format.js';
import { etcdSystem, raftkvSystem, type System } from './local-cluster.js';
import { runOnLocalClusters } from './local-run.js';
import { runMain, trackDirectory } from './processes.js';
import { primeCluster } from './prime.js';
import { createProgress } from './progress.js';
import { runWorkload } from './run-workload.js';
import { benchOptions, isMetricError, type MetricOutcomes, type Workload } from './workload.js';
import { findWorkload, WORKLOADS } from './workloads/index.js';

const USAGE = `usage: npm run bench -- <workload> --endpoints host:port,... [--duration s] [--prime s] [--quick] [--json]
       npm run bench -- <workload> --system etcd|raftkv [--duration s] [--prime s] [--quick] [--large] [--json]

workloads:
${WORKLOADS.map((w) => `  ${w.name.padEnd(16)}${w.description}${w.needs === 'endpoints' ? '' : ' (needs --system)'}`).join('\n')}`;

function printHuman(workload: Workload, outcomes: MetricOutcomes): void {
  for (const metric of workload.metrics) {
    const outcome = outcomes[metric.name];
    const shown = isMetricError(outcome) ? `error: ${outcome.error}` : `${formatNumber(outcome)} ${metric.unit}`;
    process.stdout.write(`${workload.name}  ${metric.name.padEnd(24)} ${shown}\n`);
  }
}

function printJson(workload: Workload, target: string, outcomes: MetricOutcomes): void {
  const metrics = Object.fromEntries(workload.metrics.map((metric) => {
    const outcome = outcomes[metric.name];
    return [metric.name, isMetricError(outcome) ? outcome : { value: outcome, unit: metric.unit, better: metric.better }];
  }));
  process.stdout.write(`${JSON.stringify({ workload: workload.name, target, metrics }, null, 2)}\n`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), ['endpoints', 'system', 'duration', 'prime'], ['json', 'quick', 'large', 'help']);
  if (args.switches.has('help') || args.positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return args.switches.has('help') ? 0 : 2;
  }
  if (args.positionals.length !== 1) throw new UsageError('name one workload');
  const workload = findWorkload(args.positionals[0]);
  if (workload === undefined) throw new UsageError(`unknown workload "${args.positionals[0]}"`);
  const durationS = positiveNumber(args, 'duration');
  const options = benchOptions(args.switches.has('quick'), durationS === undefined ? undefined : durationS * 1000, secondsAsMs(args, 'prime'), args.switches.has('large'));
  const log = createProgress();
  const endpoints = args.values.get('endpoints');
  const systemName = args.values.get('system');
  if ((endpoints === undefined) === (systemName === undefined)) throw new UsageError('give either --endpoints or --system');

  let outcomes: MetricOutcomes;
  let target: string;
  if (endpoints !== undefined) {
    if (workload.needs !== 'endpoints') throw new UsageError(`${workload.name} needs processes of its own: use --system etcd|raftkv`);
    target = endpoints;
    const client = new BenchClient(endpoints.split(',').map((endpoint) => endpoint.trim().replace(/^https?:\/\//, '')).filter(Boolean));
    try {
      await primeCluster(client, options.primeMs, log);
      outcomes = await runWorkload(workload, { client, cluster: null, options, log });
    } finally {
      client.close();
    }
  } else {
    let system: System;
    if (systemName === 'raftkv') system = raftkvSystem();
    else if (systemName === 'etcd') system = etcdSystem(ensureEtcd(log));
    else throw new UsageError(`--system must be etcd or raftkv, got "${systemName}"`);
    target = `local ${system.name} cluster`;
    const directory = mkdtempSync(join(tmpdir(), 'raftkv-bench-'));
    trackDirectory(directory);
    const results = await runOnLocalClusters(system, directory, [workload], options, log);
    outcomes = results.get(workload.name)!;
  }

  if (args.switches.has('json')) printJson(workload, target, outcomes);
  else printHuman(workload, outcomes);
  return workload.metrics.some((metric) => isMetricError(outcomes[metric.name])) ? 1 : 0;
}

runMain(main, USAGE, (error) => error instanceof UsageError);
