// A worker thread that runs a slice of seeds for the CLI and reports each result.

import { parentPort, workerData } from 'node:worker_threads';
import { runSeed, describeFailure } from './run.js';
import type { ScenarioOverrides } from './scenario.js';

interface Job {
  seeds: number[];
  overrides: ScenarioOverrides;
}

const job = workerData as Job;
for (const seed of job.seeds) {
  const result = runSeed(seed, job.overrides);
  parentPort?.postMessage({
    seed,
    failed: result.violation !== null,
    failure: result.violation === null ? null : describeFailure(result, job.overrides),
    stats: result.stats,
  });
}
