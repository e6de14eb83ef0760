// The restart check must catch an install that is not atomic; otherwise the seeds' green runs say
// nothing about it. Seed 6 crashes a member right after it switches in a snapshot (before its WAL
// records it): with the store switched in one step it restarts on the new store; with a planted
// torn install (half the chunks written at the switch, the rest at the WAL save) it restarts on a mix.

import { describe, expect, it } from 'vitest';
import { ViolationKind } from './invariants.js';
import { describeFailure, runSeed } from './run.js';

const SEED_CRASHING_AFTER_SWITCH = 6;

describe('snapshot install atomicity', () => {
  it('restarts on the new store when a crash follows the atomic switch', () => {
    const result = runSeed(SEED_CRASHING_AFTER_SWITCH);
    expect(result.violation).toBeNull();
    expect(result.stats.installCrashesInstalled).toBeGreaterThan(0);
  });

  it('catches a torn install at the restart, naming the seed that replays it', () => {
    const result = runSeed(SEED_CRASHING_AFTER_SWITCH, {}, { tornInstall: true });
    expect(result.violation?.kind).toBe(ViolationKind.RestartState);
    expect(describeFailure(result)).toContain(`--seed ${SEED_CRASHING_AFTER_SWITCH}`);
  });
});
