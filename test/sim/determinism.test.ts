import { describe, expect, it } from 'vitest';
import { runSeed } from './run.js';
import { scenarioForSeed } from './scenario.js';

describe('simulator determinism', () => {
  it('replays a seed to the identical history', () => {
    const first = runSeed(42);
    const second = runSeed(42);
    expect(second.stats).toEqual(first.stats);
    expect(second.trace).toEqual(first.trace);
  });

  it('covers both three- and five-member clusters across the default seeds', () => {
    const sizes = new Set(Array.from({ length: 40 }, (_, i) => scenarioForSeed(i + 1).memberCount));
    expect([...sizes].sort()).toEqual([3, 5]);
  });
});
