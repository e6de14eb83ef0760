// The one place that decides in which order a Ready is acted on. The member drives it over its
// WAL, transport and store; the simulator (test/sim) drives the very same function over its
// simulated disk and network, so the order the seeds check is the order production runs.
//
// The order, and why each step waits for the one before:
//  1. send `messages`: they never depend on local durability (a leader's appends may go out while
//     it writes the same entries to its own disk).
//  2. install the snapshot's staged copy into the store: before the WAL records the snapshot and
//     drops the log before it, so that a crash between the two restarts on the new store with its
//     log behind (replayed as no-ops), never on the old store with the log gone.
//  3. save the hard state, entries and snapshot record in one write (fsync'd when `mustSync`).
//  4. send `messagesAfterPersist`: votes and append acknowledgements promise what step 3 made durable.
//  5. apply the committed entries, then 6. advance() the core, 7. answer the clients whose entries
//     applied, and 8. hand confirmed read states to the read waiters and let through every read
//     whose index is now applied (on every Ready: a read confirmed earlier waits for entries that
//     a later Ready applies).
//
// Steps that wait on a disk are yielded as plain data (DiskStep) for the driver to perform, so a
// driver can be async/await (the member) or a discrete-event loop (the simulator). The driver stops
// resuming when its member stops or crashes; what ran before that is exactly what production ran.

import type { Entry, HardState, Message, ReadState, Ready, Snapshot } from '../raft/index.js';

/** A write the driver performs; it resumes the steps once the write is durable. */
export type DiskStep =
  | { readonly kind: 'install-snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'save'; readonly hardState: HardState | null; readonly entries: readonly Entry[]; readonly snapshot: Snapshot | null; readonly mustSync: boolean };

/** What the steps act on besides the disk. Every call is synchronous. */
export interface ReadyHost<Results> {
  /** Hands messages to the network. */
  send(messages: readonly Message[]): void;
  /** Applies committed entries in order; returns what `settle` needs to answer their proposers. */
  apply(entries: readonly Entry[]): Results;
  /** RawNode.advance(). */
  advance(): void;
  /** Answers the clients whose entries were applied. */
  settle(results: Results): void;
  /**
   * Read states confirmed by a quorum (often none): each is served once the applied index reaches
   * it. Called on every Ready, so that reads confirmed earlier go once this Ready's entries applied.
   */
  confirmReads(readStates: readonly ReadState[]): void;
}

/** The stages of one Ready, in production order. */
export const READY_ORDER = ['send', 'install-snapshot', 'save', 'send-after-persist', 'apply', 'advance', 'settle', 'confirm-reads'] as const;
export type ReadyStage = (typeof READY_ORDER)[number];

/**
 * The steps of one Ready. `order` is READY_ORDER in production; the simulator's self-test passes
 * a wrong one to show that its seeds catch a reordering.
 */
export function* readySteps<Results>(ready: Ready, host: ReadyHost<Results>, order: readonly ReadyStage[] = READY_ORDER): Generator<DiskStep, void, void> {
  let results: Results | undefined;
  for (const stage of order) {
    switch (stage) {
      case 'send':
        if (ready.messages.length > 0) host.send(ready.messages);
        break;
      case 'install-snapshot':
        if (ready.snapshot !== null) yield { kind: 'install-snapshot', snapshot: ready.snapshot };
        break;
      case 'save':
        if (ready.hardState !== null || ready.entries.length > 0 || ready.snapshot !== null) {
          yield { kind: 'save', hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot, mustSync: ready.mustSync };
        }
        break;
      case 'send-after-persist':
        if (ready.messagesAfterPersist.length > 0) host.send(ready.messagesAfterPersist);
        break;
      case 'apply':
        results = host.apply(ready.committedEntries);
        break;
      case 'advance':
        host.advance();
        break;
      case 'settle':
        if (results !== undefined) host.settle(results);
        break;
      case 'confirm-reads':
        host.confirmReads(ready.readStates);
        break;
    }
  }
}
