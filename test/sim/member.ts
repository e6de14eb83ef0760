// One simulated member: the real consensus core over a "disk" (a MemoryStorage that only ever
// holds what a Ready made durable) and a durable state machine. Crashing drops the core and any
// Ready still being persisted; the disk and the state machine survive.

import { MemoryStorage, RawNode, SeededRandom, emptyHardState, type ConfState, type HardState, type Ready } from '../../src/raft/index.js';
import { BOOTSTRAP_CHAIN, SimStateMachine } from './state-machine.js';
import type { Scenario } from './scenario.js';
import type { DiskStep } from '../../src/server/ready-loop.js';

/** One incoming snapshot stream per peer at most; more would be a simulator bug. */
const STAGING_STREAMS_MAX = 16;
/** Verified images waiting for the core; older ones are superseded by newer. */
const STAGED_SNAPSHOTS_MAX = 4;

export class SimMember {
  readonly id: number;
  readonly disk = new MemoryStorage();
  sm: SimStateMachine;
  node: RawNode | null = null;
  /** Bumped on every start, so events scheduled for an earlier life are ignored. */
  incarnation = 0;
  /** The Ready being acted on (src/server/ready-loop.ts's steps), if any, and the disk step it waits on. */
  persisting: { readonly ready: Ready; readonly steps: Generator<DiskStep, void, void>; step: DiskStep | null } | null = null;
  /** Applied its own removal from the configuration and shut down for good. */
  removed = false;
  /**
   * The hard state as last written. A Ready that only advances the commit index is not written on
   * its own (src/storage/wal.ts holds it back until the next write), so a crash loses it.
   */
  writtenHardState: HardState = emptyHardState;
  /**
   * The snapshot staging area on this member's disk: chunks of streams still arriving, and whole,
   * checksum-verified images (by snapshot index) that the core has been handed but not yet
   * installed. A start wipes it: nothing in the WAL refers to a staged copy until it is installed.
   */
  private readonly stagingStreams = new Map<number, Uint8Array[]>();
  private readonly stagedSnapshots = new Map<number, Uint8Array>();
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
    this.stagingStreams.clear();
    this.stagedSnapshots.clear();
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

  stageChunk(stream: number, chunk: number, data: Uint8Array): void {
    let chunks = this.stagingStreams.get(stream);
    if (chunks === undefined) {
      if (this.stagingStreams.size >= STAGING_STREAMS_MAX) throw new Error(`member ${this.id} stages more than ${STAGING_STREAMS_MAX} streams`);
      chunks = [];
      this.stagingStreams.set(stream, chunks);
    }
    chunks[chunk] = data.slice();
  }

  /** The staged chunks of a finished stream, joined; null if any is missing. */
  takeStagedStream(stream: number): Uint8Array | null {
    const chunks = this.stagingStreams.get(stream) ?? [];
    this.stagingStreams.delete(stream);
    let bytes = 0;
    for (let i = 0; i < chunks.length; i++) {
      if (chunks[i] === undefined) return null;
      bytes += chunks[i].byteLength;
    }
    const image = new Uint8Array(bytes);
    let offset = 0;
    for (const chunk of chunks) {
      image.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return image;
  }

  discardStagedStream(stream: number): void {
    this.stagingStreams.delete(stream);
  }

  keepStagedSnapshot(index: number, image: Uint8Array): void {
    this.stagedSnapshots.set(index, image);
    for (const staged of [...this.stagedSnapshots.keys()].sort((a, b) => a - b)) {
      if (this.stagedSnapshots.size <= STAGED_SNAPSHOTS_MAX) break;
      this.stagedSnapshots.delete(staged);
    }
  }

  /** The staged image for the snapshot at `index`, if any; staged copies up to it are dropped. */
  takeStagedSnapshot(index: number): Uint8Array | undefined {
    const image = this.stagedSnapshots.get(index);
    for (const staged of [...this.stagedSnapshots.keys()]) if (staged <= index) this.stagedSnapshots.delete(staged);
    return image;
  }

  crash(): void {
    this.disk.setHardState(this.writtenHardState);
    this.node = null;
    this.persisting = null;
    this.incarnation++;
  }
}
