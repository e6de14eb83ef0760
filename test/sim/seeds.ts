// Shared by the seed-range test files: each runs its range as one test per seed, so a failure
// names its seed and prints the command that replays it. A last test looks at the range as a
// whole: a green range proves little unless the faults it is meant to survive actually happened.

import { expect, it } from 'vitest';
import type { RunStats } from './cluster.js';
import { describeFailure, runSeed } from './run.js';

export function testSeedRange(first: number, count: number): void {
  const seeds = Array.from({ length: count }, (_, i) => first + i);
  const passed: RunStats[] = [];
  it.each(seeds)('seed %i keeps every invariant and recovers after faults heal', (seed) => {
    const result = runSeed(seed);
    if (result.violation !== null) expect.fail(describeFailure(result));
    // A run that did nothing proves nothing: every seed must commit and acknowledge writes.
    expect(result.stats.acknowledgedWrites).toBeGreaterThan(0);
    expect(result.stats.committedIndex).toBeGreaterThan(1);
    passed.push(result.stats);
  });

  it(`seeds ${first}..${first + count - 1} interrupt snapshot streams mid-way, complete others, and crash around installs`, () => {
    expect(passed.length, 'every seed of the range passed').toBe(count);
    const total = (key: keyof RunStats): number => passed.reduce((sum, stats) => sum + stats[key], 0);
    expect(total('snapshotsCompleted')).toBeGreaterThan(0);
    expect(total('snapshotsAbortedMidway')).toBeGreaterThan(0);
    expect(total('installCrashesStaged')).toBeGreaterThan(0);
    expect(total('installCrashesInstalled')).toBeGreaterThan(0);
    // The simulated network never corrupts a chunk: a mismatch would be the staging's fault.
    expect(total('snapshotChecksumFailures')).toBe(0);
  });
}
