// Shared by the seed-range test files: each runs its range as one test per seed, so a failure
// names its seed and prints the command that replays it.

import { expect, it } from 'vitest';
import { describeFailure, runSeed } from './run.js';

export function testSeedRange(first: number, count: number): void {
  const seeds = Array.from({ length: count }, (_, i) => first + i);
  it.each(seeds)('seed %i keeps every invariant and recovers after faults heal', (seed) => {
    const result = runSeed(seed);
    if (result.violation !== null) expect.fail(describeFailure(result));
    // A run that did nothing proves nothing: every seed must commit and acknowledge writes.
    expect(result.stats.acknowledgedWrites).toBeGreaterThan(0);
    expect(result.stats.committedIndex).toBeGreaterThan(1);
  });
}
