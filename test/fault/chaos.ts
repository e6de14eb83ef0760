// `npm run chaos -- --minutes N [--seed S] [--faults a,b] [--size 3|5] [--duration ms] [--failpoints name=value,…]`: randomized chaos scenarios
// against real raftkv processes until the time is up (or one scenario with --seed), then a table:
// scenario, operations, faults injected, indeterminate operations, verdict, time to recover. A
// failing scenario prints the command that replays it and keeps its history and member logs.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FAULT_NAMES } from './faults.js';
import { runScenario, type ScenarioResult } from './scenario.js';

const ARTIFACTS = join(process.cwd(), 'chaos-artifacts');

export function formatTable(results: readonly ScenarioResult[]): string {
  const header = ['seed', 'scenario', 'ops', 'faults', 'indeterminate', 'verdict', 'recover ms'];
  const rows = results.map((r) => [String(r.seed), r.scenario, String(r.operations), String(r.faultsInjected), String(r.indeterminate), r.verdict, String(r.recoverMs)]);
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

/** A scenario that could not finish (a member never came back, a check could not run) fails too. */
function harnessFailure(seed: number, error: unknown): ScenarioResult {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { seed, scenario: 'did not finish', operations: 0, faultsInjected: 0, indeterminate: 0, completedBeforeFaults: 0, completedAfterHeal: 0, verdict: 'FAIL', violations: [`harness: ${message}`], recoverMs: 0, artifacts: join(ARTIFACTS, `seed-${seed}`) };
}

export function replayCommand(result: ScenarioResult, argv: readonly string[]): string {
  const kept = argv.filter((arg, i) => !['--minutes', '--seed'].includes(arg) && !['--minutes', '--seed'].includes(argv[i - 1] ?? ''));
  return ['npm run chaos --', '--seed', String(result.seed), ...kept].join(' ');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' }, seed: { type: 'string' }, faults: { type: 'string' }, size: { type: 'string' }, duration: { type: 'string' }, failpoints: { type: 'string' },
    },
  });
  const faults = values.faults?.split(',').filter((name) => name !== '');
  for (const name of faults ?? []) if (!FAULT_NAMES.includes(name)) throw new Error(`unknown fault ${name}; known: ${FAULT_NAMES.join(', ')}`);
  const size = values.size === undefined ? undefined : (Number(values.size) as 3 | 5);
  const durationMs = values.duration === undefined ? undefined : Number(values.duration);
  // Deliberate bugs, to see the checkers catch them: e.g. --failpoints unsafe-local-reads=true.
  const failpoints = values.failpoints === undefined ? undefined : Object.fromEntries(values.failpoints.split(',').map((pair) => pair.split('=') as [string, string]));
  const deadline = Date.now() + Number(values.minutes ?? 0) * 60_000;
  let seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  mkdirSync(ARTIFACTS, { recursive: true });
  const results: ScenarioResult[] = [];
  do {
    const result = await runScenario({ seed, faults, size, durationMs, failpoints, artifactsDir: ARTIFACTS }).catch((error: unknown) => harnessFailure(seed, error));
    results.push(result);
    console.log(`${result.verdict === 'ok' ? 'ok  ' : 'FAIL'} seed ${seed}: ${result.scenario} — ${result.operations} ops, ${result.indeterminate} indeterminate, recovered in ${result.recoverMs} ms`);
    if (result.verdict !== 'ok') {
      for (const violation of result.violations.slice(0, 20)) console.log(`     ${violation}`);
      console.log(`     replay: ${replayCommand(result, process.argv.slice(2))}   (history and logs: ${result.artifacts})`);
    }
    seed = (seed + 1) >>> 0;
  } while (Date.now() < deadline);
  console.log(`\n${formatTable(results)}`);
  const failed = results.filter((r) => r.verdict !== 'ok').length;
  console.log(`\n${results.length} scenarios, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

if (process.argv[1]?.endsWith('chaos.js')) await main();
