// `npm run bench:compare [-- --repeats N --quick]`: every workload on a local three-member etcd
// cluster and a local three-member raftkv cluster, one system right after the other, repeated; prints the
// table of medians and ratios and writes bench/results/<date>.md and .svg.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs, positiveNumber, secondsAsMs, UsageError } from './args.js';
import { renderRatioChart } from './chart.js';
import { compare } from './comparison.js';
import { ensureEtcd } from './etcd-binary.js';
import { etcdSystem, raftkvSystem, type SystemName } from './local-cluster.js';
import { runSideBySide, type WorkloadResults } from './local-run.js';
import { currentLoadAverage, describeMachine } from './machine.js';
import { RESULTS_DIR } from './paths.js';
import { killEverything, runMain, trackDirectory } from './processes.js';
import { createProgress, scoped } from './progress.js';
import { errorLines, ratioExplanation, renderMarkdown, renderTextTable } from './report.js';
import { benchOptions } from './workload.js';
import { DEFAULT_WORKLOADS, findWorkload, WORKLOADS } from './workloads/index.js';

const USAGE = `usage: npm run bench:compare [-- --repeats N] [--quick] [--large] [--duration s] [--prime s] [--workloads name,name] [--label text] [--scrape-metrics s]
workloads: ${WORKLOADS.map((workload) => workload.name).join(', ')} (by default all but ${WORKLOADS.filter((workload) => !DEFAULT_WORKLOADS.includes(workload)).map((workload) => workload.name).join(', ')})`;

/** Per cluster, besides the workloads' own budgets: starting, health checks, stopping. */
const CLUSTER_OVERHEAD_MS = 3 * 60_000;

function localDate(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  const argv = process.argv.slice(2);
  const args = parseArgs(argv, ['repeats', 'duration', 'prime', 'workloads', 'label', 'scrape-metrics'], ['quick', 'large', 'help']);
  if (args.switches.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const repeats = positiveNumber(args, 'repeats') ?? 3;
  if (!Number.isInteger(repeats)) throw new UsageError('--repeats must be a whole number');
  const quick = args.switches.has('quick');
  const durationS = positiveNumber(args, 'duration');
  const options = benchOptions(quick, durationS === undefined ? undefined : durationS * 1000, secondsAsMs(args, 'prime'), args.switches.has('large'), secondsAsMs(args, 'scrape-metrics') ?? 0);
  const label = args.values.get('label');
  if (label !== undefined && !/^[a-z0-9-]+$/.test(label)) throw new UsageError('--label must be lower-case letters, digits and dashes');
  const workloads = args.values.has('workloads')
    ? args.values.get('workloads')!.split(',').map((name) => findWorkload(name.trim()) ?? (() => { throw new UsageError(`unknown workload "${name}"`); })())
    : DEFAULT_WORKLOADS;

  const log = createProgress();
  const etcd = etcdSystem(ensureEtcd(log));
  const raftkv = raftkvSystem();
  const directory = mkdtempSync(join(tmpdir(), 'raftkv-bench-'));
  trackDirectory(directory);
  const machine = describeMachine(etcd.command, directory);
  log(`etcd ${machine.etcdVersion} and raftkv ${machine.raftkvCommit}, ${repeats} repeat(s)${quick ? ', quick' : ''}, data under ${directory}`);

  // Every wait inside has its own timeout; this is the bound on the whole run should they add up.
  const budgetMs = repeats * 2 * (options.primeMs + workloads.reduce((sum, workload) => sum + workload.timeBudgetMs(options) + CLUSTER_OVERHEAD_MS, 0));
  setTimeout(() => {
    process.stderr.write(`the comparison exceeded its ${Math.round(budgetMs / 60_000)} minute bound: stopping\n`);
    killEverything();
    process.exit(1);
  }, budgetMs).unref();

  const results: Record<SystemName, WorkloadResults[]> = { etcd: [], raftkv: [] };
  for (let repeat = 1; repeat <= repeats; repeat++) {
    // Alternating which system goes first in each pair spreads what remains of the drift over both.
    const order = repeat % 2 === 1 ? [etcd, raftkv] : [raftkv, etcd];
    log(`repeat ${repeat}/${repeats}: ${order.map((system) => system.name).join(' then ')}, workload by workload`);
    const runs = order.map((system) => ({ system, log: scoped(log, `${system.name} ${repeat}/${repeats}:`) }));
    const repeatResults = await runSideBySide(runs, directory, workloads, options);
    order.forEach((system, i) => results[system.name].push(repeatResults[i]));
  }

  const rows = compare(workloads, results.etcd, results.raftkv);
  const date = localDate(new Date());
  const title = `raftkv vs etcd ${machine.etcdVersion}, ${date}`;
  process.stdout.write(`\n${title}: ${ratioExplanation(repeats)}\n\n${renderTextTable(rows)}\n`);
  const errors = errorLines(rows);
  if (errors.length > 0) process.stdout.write(`\nerrors:\n${errors.map((error) => `  ${error}`).join('\n')}\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const fileStem = label === undefined ? date : `${date}-${label}`;
  const chartFile = `${fileStem}.svg`;
  const chartPath = join(RESULTS_DIR, chartFile);
  const reportPath = join(RESULTS_DIR, `${fileStem}.md`);
  const command = `npm run bench:compare${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  const repeatsShown = repeats === 1 ? 'one repeat' : `median of ${repeats} repeats`;
  const subtitle = `${repeatsShown}; > 1 means raftkv is better (raftkv/etcd for throughput, etcd/raftkv for latency, time, memory)`;
  writeFileSync(chartPath, renderRatioChart(rows, title, subtitle));
  const durationTotalS = (performance.now() - startedAt) / 1000;
  writeFileSync(reportPath, renderMarkdown(rows, {
    date, command, repeats, quick, options, machine, durationS: durationTotalS, chartFile, loadAverageAtEnd: currentLoadAverage(),
  }));
  process.stdout.write(`\nwrote ${relative(process.cwd(), reportPath)} and ${relative(process.cwd(), chartPath)}\n`);
  return 0;
}

runMain(main, USAGE, (error) => error instanceof UsageError);
