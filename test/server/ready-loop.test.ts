// The Ready steps as the member and the simulator run them (src/server/ready-loop.ts): the order,
// the disk steps yielded as data, and the read waiters told on every Ready.

import { describe, expect, it } from 'vitest';
import { EntryType, type Entry, type Ready } from '../../src/raft/index.js';
import { readySteps, type ReadyHost } from '../../src/server/ready-loop.js';

function entry(index: number): Entry {
  return { index, term: 1, type: EntryType.Normal, data: new Uint8Array([index]) };
}

function ready(parts: Partial<Ready>): Ready {
  return { softState: null, hardState: null, entries: [], snapshot: null, committedEntries: [], messages: [], messagesAfterPersist: [], readStates: [], mustSync: false, ...parts };
}

/** Runs one Ready's steps over a host that records what happened, performing disk steps at once. */
function run(r: Ready): string[] {
  const log: string[] = [];
  const host: ReadyHost<number> = {
    send: (messages) => log.push(`send ${messages.length}`),
    apply: (entries) => {
      log.push(`apply ${entries.map((e) => e.index).join(',')}`);
      return entries.length;
    },
    advance: () => log.push('advance'),
    settle: (applied) => log.push(`settle ${applied}`),
    confirmReads: (readStates) => log.push(`reads ${readStates.length}`),
  };
  for (const step of readySteps(r, host)) log.push(step.kind === 'save' ? `save ${step.entries.length} entries, sync ${step.mustSync}` : `install ${step.snapshot.metadata.index}`);
  return log;
}

describe('readySteps', () => {
  it('acts in production order: send, save, messages after persist, apply, advance, settle, reads', () => {
    const message = { type: 3, to: 2, from: 1, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(0), snapshot: null } as never;
    expect(run(ready({ messages: [message], entries: [entry(3)], committedEntries: [entry(2)], messagesAfterPersist: [message, message], mustSync: true, hardState: { term: 1, vote: 1, commit: 2 } }))).toEqual([
      'send 1',
      'save 1 entries, sync true',
      'send 2',
      'apply 2',
      'advance',
      'settle 1',
      'reads 0',
    ]);
  });

  it('tells the read waiters on every Ready, with or without read states, after the entries applied', () => {
    // A read confirmed at index 5 by an earlier Ready waits for the store to apply 5: the Ready
    // that applies it carries no read state, and the waiter must still hear of it.
    expect(run(ready({ committedEntries: [entry(5)] }))).toEqual(['apply 5', 'advance', 'settle 1', 'reads 0']);
  });

  it('yields a snapshot install before the save that records it', () => {
    const snapshot = { metadata: { index: 9, term: 2, confState: { voters: [1], learners: [] } }, data: new Uint8Array([1]) };
    expect(run(ready({ snapshot, hardState: { term: 2, vote: 0, commit: 9 }, mustSync: true })).slice(0, 2)).toEqual(['install 9', 'save 0 entries, sync true']);
  });
});
