// The checkers must reject bad histories; otherwise a green simulator run proves nothing.

import { describe, expect, it } from 'vitest';
import { InvariantChecker, Violation, ViolationKind, type LogView } from './invariants.js';

function expectViolation(kind: ViolationKind, action: () => void): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(Violation);
    expect((error as Violation).kind).toBe(kind);
    return;
  }
  expect.fail(`expected a ${kind} violation`);
}

function logOf(terms: number[], firstIndex = 1): LogView {
  return { firstIndex, lastIndex: firstIndex + terms.length - 1, termAt: (index) => terms[index - firstIndex] ?? 0 };
}

describe('invariant checker', () => {
  it('accepts one leader per term and rejects a second', () => {
    const checker = new InvariantChecker();
    checker.leader(1, 1);
    checker.leader(1, 1);
    checker.leader(2, 2);
    expectViolation(ViolationKind.ElectionSafety, () => checker.leader(2, 3));
  });

  it('rejects two different entries at the same index and term', () => {
    const checker = new InvariantChecker();
    checker.logEntry(1, 5, 2, 111, 1);
    checker.logEntry(2, 5, 2, 111, 1);
    checker.logEntry(3, 5, 3, 222, 1); // another term at the same index is fine
    expectViolation(ViolationKind.LogMatching, () => checker.logEntry(3, 5, 2, 999, 1));
  });

  it('rejects equal entries that follow different predecessors', () => {
    const checker = new InvariantChecker();
    checker.logEntry(1, 5, 2, 111, 1);
    expectViolation(ViolationKind.LogMatching, () => checker.logEntry(2, 5, 2, 111, 2));
  });

  it('rejects two different terms committed at one index', () => {
    const checker = new InvariantChecker();
    checker.committed(1, 3, 2);
    checker.committed(2, 3, 2);
    expectViolation(ViolationKind.StateMachineSafety, () => checker.committed(3, 3, 4));
  });

  it('rejects a new leader that lacks a committed entry or ends before the commit index', () => {
    const checker = new InvariantChecker();
    checker.committed(1, 1, 1);
    checker.committed(1, 2, 1);
    checker.committed(1, 3, 2);
    checker.newLeaderLog(2, 3, logOf([1, 1, 2, 3]));
    checker.newLeaderLog(2, 3, logOf([2, 3], 3)); // indexes 1-2 compacted into its snapshot
    expectViolation(ViolationKind.LeaderCompleteness, () => checker.newLeaderLog(3, 4, logOf([1, 1, 3])));
    expectViolation(ViolationKind.LeaderCompleteness, () => checker.newLeaderLog(3, 4, logOf([1, 1])));
  });

  it('rejects an applied index going back and different states at one index', () => {
    const checker = new InvariantChecker();
    checker.applied(1, 1, 10);
    checker.applied(1, 2, 20);
    checker.applied(2, 2, 20);
    expectViolation(ViolationKind.AppliedWentBack, () => checker.applied(1, 2, 20));
    expectViolation(ViolationKind.StateMachineSafety, () => checker.applied(3, 1, 11));
  });

  it('rejects a read confirmed below a write acknowledged before it began', () => {
    const checker = new InvariantChecker();
    checker.writeAcknowledged(7);
    const floor = checker.readStarted();
    checker.readConfirmed(1, 7, floor);
    checker.readConfirmed(1, 9, floor);
    expectViolation(ViolationKind.ReadSafety, () => checker.readConfirmed(1, 6, floor));
  });

  it('rejects a restart whose store is not the last state it reached, or is behind its WAL snapshot', () => {
    const checker = new InvariantChecker();
    checker.started(1, 1, 10, 1);
    checker.applied(1, 2, 20);
    checker.applied(1, 9, 90); // a snapshot switched in
    checker.started(1, 9, 90, 1); // crashed after the switch, before the WAL recorded it: the new store
    checker.started(2, 1, 10, 1);
    checker.started(2, 1, 10, 1); // crashed with the snapshot only staged: the old store
    expectViolation(ViolationKind.RestartState, () => checker.started(1, 9, 20, 1)); // new index, old contents: a torn install
    expectViolation(ViolationKind.RestartState, () => checker.started(1, 2, 20, 1)); // went back to an earlier state
    expectViolation(ViolationKind.RestartState, () => checker.started(2, 1, 10, 9)); // the WAL records a snapshot the store lacks
  });
});
