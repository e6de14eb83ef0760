// The short chaos pass of `npm test`: a handful of scenarios, a few seconds of faults each, on real
// processes, every history checked. And the checkers are not vacuous: a member that serves
// linearizable reads from local state (a failpoint only tests can turn on) must be caught.

import { describe, expect, it } from 'vitest';
import { PHASE_OPERATIONS_MIN, runScenario, type ScenarioOptions } from './scenario.js';

const PASS: ScenarioOptions[] = [
  { seed: 101, size: 3, faults: ['kill-leader'], durationMs: 2000 },
  { seed: 102, size: 3, faults: ['isolate-leader', 'slow-disk'], durationMs: 2500 },
  { seed: 103, size: 5, faults: ['split-minority'], durationMs: 2000 },
  { seed: 104, size: 3, faults: ['pause-follower', 'flapping-link'], durationMs: 2500 },
  { seed: 105, size: 3, faults: ['membership-change', 'transfer-leader'], durationMs: 2000 },
];

describe('chaos: real processes, real faults, every history checked', () => {
  for (const options of PASS) {
    it(`seed ${options.seed}: ${options.faults!.join(' + ')} on ${options.size} members`, async () => {
      const result = await runScenario(options);
      // The replay command is in the message of any failure.
      expect(result.violations, `replay: npm run chaos -- --seed ${options.seed} --faults ${options.faults!.join(',')} --size ${options.size}`).toEqual([]);
      // Not vacuous: the load ran into the faults and was served again after the heal (the scenario
      // waits for this with a generous deadline rather than counting what fits in a fixed window).
      expect(result.completedBeforeFaults).toBeGreaterThanOrEqual(PHASE_OPERATIONS_MIN);
      expect(result.completedAfterHeal).toBeGreaterThanOrEqual(PHASE_OPERATIONS_MIN);
      expect(result.faultsInjected).toBe(options.faults!.length);
    }, 90_000);
  }

  it('catches stale reads when members serve linearizable reads locally (the unsafe-local-reads failpoint)', async () => {
    const result = await runScenario({ seed: 201, size: 3, faults: ['isolate-leader'], durationMs: 3000, failpoints: { 'unsafe-local-reads': 'true' } });
    expect(result.verdict).toBe('FAIL');
    expect(result.violations.some((violation) => violation.startsWith('linearizability:'))).toBe(true);
  }, 90_000);
});
