// Runs one seed and formats its outcome, including the one command that replays a failure.

import { SimCluster, type RunResult, type SimOptions } from './cluster.js';
import { scenarioForSeed, type ScenarioOverrides } from './scenario.js';

export function runSeed(seed: number, overrides: ScenarioOverrides = {}, options: SimOptions = {}): RunResult {
  return new SimCluster(scenarioForSeed(seed, overrides), options).run();
}

export function replayCommand(seed: number, overrides: ScenarioOverrides = {}): string {
  const extra = [
    overrides.memberCount === undefined ? '' : ` --members ${overrides.memberCount}`,
    overrides.faultPhaseTicks === undefined ? '' : ` --ticks ${overrides.faultPhaseTicks}`,
  ].join('');
  return `npm run sim -- --seed ${seed}${extra} --verbose`;
}

export function describeFailure(result: RunResult, overrides: ScenarioOverrides = {}): string {
  const lines = [
    `seed ${result.seed} FAILED: ${result.violation?.message}`,
    `replay: ${replayCommand(result.seed, overrides)}`,
    'last events:',
    ...result.trace.slice(-40).map((line) => `  ${line}`),
  ];
  return lines.join('\n');
}
