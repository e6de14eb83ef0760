// The binary's idle heap compaction: when it compacts (a pure decision over samples) and that a
// compaction run by it gives committed heap back.

import { describe, expect, it } from 'vitest';
import { IdleCompactionDecider, type IdleCompactionPolicy } from '../../src/cli/idle-heap-compaction.js';

const MiB = 1024 * 1024;
const policy: IdleCompactionPolicy = { idleUtilizationMax: 0.05, idleSamplesMin: 3, growthBytesMin: 32 * MiB };

function feed(decider: IdleCompactionDecider, samples: Array<[number, number]>): boolean[] {
  return samples.map(([loopUtilization, committedMiB]) => decider.observe({ loopUtilization, committedBytes: committedMiB * MiB }));
}

describe('idle heap compaction', () => {
  it('compacts once a grown heap has idled for the required samples, and not again until it grows anew', () => {
    const decider = new IdleCompactionDecider(policy);
    // Start at 80 MiB; a busy burst grows the heap; then three idle samples.
    expect(feed(decider, [[0.01, 80], [0.9, 150], [0.8, 160], [0.02, 160], [0.03, 160]])).toEqual([false, false, false, false, false]);
    expect(feed(decider, [[0.01, 160]])).toEqual([true]);
    decider.compacted(75 * MiB);
    // Idle for long, heap unchanged: nothing more to do.
    expect(feed(decider, Array.from({ length: 10 }, () => [0.01, 75] as [number, number])).some(Boolean)).toBe(false);
    // Grown by less than the minimum: still nothing.
    expect(feed(decider, [[0.5, 100], [0.01, 100], [0.01, 100], [0.01, 100]]).some(Boolean)).toBe(false);
    // Grown past it, and idle again.
    expect(feed(decider, [[0.5, 120], [0.01, 120], [0.01, 120], [0.01, 120]])).toEqual([false, false, false, true]);
  });

  it('never compacts while the event loop is busy, however large the heap', () => {
    const decider = new IdleCompactionDecider(policy);
    const busy = feed(decider, [[0.5, 80], ...Array.from({ length: 20 }, (_, i) => [i % 3 === 2 ? 0.5 : 0.01, 400] as [number, number])]);
    expect(busy.some(Boolean)).toBe(false);
  });
});
