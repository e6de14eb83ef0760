// The simulator drives the production Ready steps (src/server/ready-loop.ts), so its seeds check
// the order the member runs. These plant a wrong order and show that seeds of `npm test`'s own
// ranges catch it; otherwise the green seed runs would say nothing about the order.
//
// Applying committed entries before the save is not planted here: it is not unsafe in this design.
// An entry is handed out as committed only once a quorum holds it durably, so it is final even if
// this member crashes before saving its own copy (seeds 1..500 stay green with it).

import { describe, expect, it } from 'vitest';
import { READY_ORDER, type ReadyStage } from '../../src/server/ready-loop.js';
import { ViolationKind } from './invariants.js';
import { describeFailure, runSeed } from './run.js';

/** Production's order with `stage` moved to just before `before`. */
function moved(stage: ReadyStage, before: ReadyStage): ReadyStage[] {
  const order = READY_ORDER.filter((candidate) => candidate !== stage);
  order.splice(order.indexOf(before), 0, stage);
  return order;
}

describe('the production Ready order, checked by the simulator', () => {
  it('catches acknowledgements sent before the entries they vouch for are saved (seed 64)', () => {
    const order = moved('send-after-persist', 'save');
    expect(runSeed(64).violation).toBeNull();
    const result = runSeed(64, {}, { readyOrder: order });
    expect(result.violation?.kind).toBe(ViolationKind.LeaderCompleteness);
    expect(describeFailure(result)).toContain('--seed 64');
  });

  it('catches a snapshot recorded in the WAL before its staged copy is installed (seed 2)', () => {
    const order = moved('install-snapshot', 'send-after-persist');
    expect(runSeed(2).violation).toBeNull();
    expect(runSeed(2, {}, { readyOrder: order }).violation?.kind).toBe(ViolationKind.RestartState);
  });

  it('catches advance() before the save (seed 1)', () => {
    expect(runSeed(1, {}, { readyOrder: moved('advance', 'save') }).violation).not.toBeNull();
  });
});
