// One simulated member: the real consensus core over a "disk" (a MemoryStorage that only ever
// holds what a Ready made durable) and a durable state machine. Crashing drops the core and any
// Ready still being persisted; the disk and the state machine survive.

import { MemoryStorage, RawNode, SeededRandom, emptyHardState, type ConfState, type HardState, type Ready } from '../../src/raft/index.js';
import { BOOTSTRAP_CHAIN, SimStateMachine } from './state-machine.js';
import type { Scenario } from './scenario.js';

export class SimMember {
  readonly id: number;
  readonly disk = new MemoryStorage();
  sm: SimStateMachine;
  node: RawNode | null = null;
  /** Bumped on every start, so events scheduled for an earlier life are ignored. */
  incarnation = 0;
  /** The Ready being written to disk, if any. */
  persisting: Ready | null = null;
  /** Applied its own removal from the configuration and shut down for good. */
  removed = false;
  /**
   * The hard state as last written. A Ready that only advances the commit index is not written on
   * its own (src/storage/wal.ts holds it back until the next write), so a crash loses it.
   */
  writtenHardState: HardState = emptyHardState;
  /** Highest commit index already reported to the invariant checker. */
  committedObserved = 0;
  /** Term in which this member was last seen leading (to spot a new leadership once). */
  leaderTermObserved = 0;

  constructor(id: number, bootstrap: ConfState | null) {
    this.id = id;
    if (bootstrap === null) {
      this.sm = new SimStateMachine(0, 0, { voters: [], learners: [] });
      return;
    }
    // Every founding member starts from the same snapshot at index 1 naming the founders.
    this.sm = new SimStateMachine(1, BOOTSTRAP_CHAIN, bootstrap);
    this.disk.applySnapshot({ metadata: { index: 1, term: 1, confState: bootstrap }, data: this.sm.image() });
    this.writtenHardState = this.disk.getHardState();
    this.committedObserved = 1;
  }

  get isUp(): boolean {
    return this.node !== null;
  }

  start(scenario: Scenario): void {
    this.incarnation++;
    this.persisting = null;
    this.node = new RawNode({
      id: this.id,
      electionTicks: scenario.electionTicks,
      heartbeatTicks: scenario.heartbeatTicks,
      storage: this.disk,
      random: new SeededRandom(scenario.seed * 7919 + this.id * 104729 + this.incarnation),
      checkQuorum: true,
      preVote: scenario.preVote,
      inflightMessagesMax: scenario.inflightMessagesMax,
      messageBytesMax: scenario.messageBytesMax,
    });
  }

  /** Records that the disk's hard state is written (with entries, a snapshot or a sync). */
  hardStateWritten(): void {
    this.writtenHardState = this.disk.getHardState();
  }

  crash(): void {
    this.disk.setHardState(this.writtenHardState);
    this.node = null;
    this.persisting = null;
    this.incarnation++;
  }
}
