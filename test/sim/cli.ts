// npm run sim -- --seed N            replay one seed (add --verbose for every event)
// npm run sim -- --seeds COUNT       run seeds 1..COUNT (or --start S) across worker threads
// Options: --members 3|5, --ticks T (fault-phase ticks), --workers W.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { describeFailure, runSeed } from './run.js';
import type { ScenarioOverrides } from './scenario.js';
import type { RunStats } from './cluster.js';

interface Arguments {
  seed?: number;
  seeds: number;
  start: number;
  workers: number;
  verbose: boolean;
  overrides: ScenarioOverrides;
}

function parseArguments(argv: string[]): Arguments {
  const args: Arguments = { seeds: 100, start: 1, workers: Math.max(1, availableParallelism()), verbose: false, overrides: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): number => {
      const raw = argv[++i];
      const number = Number(raw);
      if (raw === undefined || !Number.isSafeInteger(number) || number < 0) throw new Error(`${flag} needs a whole number, got ${raw}`);
      return number;
    };
    switch (flag) {
      case '--seed': args.seed = value(); break;
      case '--seeds': args.seeds = value(); break;
      case '--start': args.start = value(); break;
      case '--workers': args.workers = Math.max(1, value()); break;
      case '--members': args.overrides.memberCount = value(); break;
      case '--ticks': args.overrides.faultPhaseTicks = value(); break;
      case '--verbose': args.verbose = true; break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  return args;
}

function replayOne(args: Arguments & { seed: number }): number {
  const result = runSeed(args.seed, args.overrides, { verbose: args.verbose });
  console.log(JSON.stringify(result.stats));
  if (result.violation !== null) {
    console.log(describeFailure(result, args.overrides));
    return 1;
  }
  console.log(`seed ${args.seed}: ok`);
  return 0;
}

async function runMany(args: Arguments): Promise<number> {
  const started = Date.now();
  const seeds = Array.from({ length: args.seeds }, (_, i) => args.start + i);
  const workerCount = Math.min(args.workers, seeds.length);
  const failures: string[] = [];
  const totals = { events: 0, acknowledgedWrites: 0, readsConfirmed: 0, leaderChanges: 0, crashes: 0, confChangesApplied: 0, snapshotsStarted: 0, snapshotsCompleted: 0, snapshotsAborted: 0, snapshotsAbortedMidway: 0, installCrashesStaged: 0, installCrashesInstalled: 0, installsAlreadyHeld: 0 };
  let done = 0;
  await Promise.all(
    Array.from({ length: workerCount }, (_, w) => {
      const slice = seeds.filter((_, i) => i % workerCount === w);
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { seeds: slice, overrides: args.overrides } });
      return new Promise<void>((resolve, reject) => {
        worker.on('message', (report: { seed: number; failed: boolean; failure: string | null; stats: RunStats }) => {
          done++;
          for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += report.stats[key];
          if (report.failed && report.failure !== null) {
            failures.push(report.failure);
            console.log(report.failure);
          }
          if (done % 500 === 0) console.log(`${done}/${seeds.length} seeds, ${failures.length} failed, ${((Date.now() - started) / 1000).toFixed(0)}s`);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
      });
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${seeds.length} seeds (${args.start}..${args.start + seeds.length - 1}), ${failures.length} violations, ` +
      `${seconds.toFixed(1)}s wall on ${workerCount} workers; totals ${JSON.stringify(totals)}`,
  );
  return failures.length === 0 ? 0 : 1;
}

const args = parseArguments(process.argv.slice(2));
process.exitCode = args.seed !== undefined ? replayOne({ ...args, seed: args.seed }) : await runMany(args);
