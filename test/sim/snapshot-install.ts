// Installing a received snapshot the way the member does it: the Ready that carries it is made
// durable in two steps, first the staged, checksum-verified copy is switched in as the store in
// one atomic step, then the WAL records the snapshot (with the Ready's entries and hard state).
// Some scenarios crash the member exactly at one of the two points around the switch: with the
// snapshot only staged (it restarts on the old store; the staging area is wiped), or switched in
// before the WAL recorded it (it restarts on the new store, its log still behind). The invariant
// checker's restart check says it is one or the other, never a mix.

import type { SeededRandom, Snapshot } from '../../src/raft/index.js';
import type { InvariantChecker } from './invariants.js';
import type { SimMember } from './member.js';
import { SimStateMachine } from './state-machine.js';

/** Where a crash injected around a snapshot install lands. */
export type InstallCrashPoint = 'staged' | 'installed';

export type SnapshotInstallEvent =
    | { kind: 'snapshot-switch'; member: number; incarnation: number; crashAt: InstallCrashPoint | null }
    | { kind: 'persisted'; member: number; incarnation: number };

export interface SnapshotInstallHost {
  readonly checker: InvariantChecker;
  readonly random: SeededRandom;
  /** The chance of a crash injected around an install (none once the faults heal). */
  installCrashProbability(): number;
  member(id: number): SimMember | undefined;
  diskLatencyMs(): number;
  schedule(delayMs: number, event: SnapshotInstallEvent): void;
  crash(member: SimMember): void;
  /** The member's store now holds everything up to `index`. */
  installed(member: SimMember, index: number): void;
  trace(line: string): void;
}

export interface SnapshotInstallStats {
  /** Crashes injected with a snapshot staged but not yet switched in. */
  installCrashesStaged: number;
  /** Crashes injected after the switch, before the WAL recorded the snapshot. */
  installCrashesInstalled: number;
  /** Snapshots the core accepted that the store already held (switched in before such a crash). */
  installsAlreadyHeld: number;
}

export class SnapshotInstaller {
  private readonly host: SnapshotInstallHost;
  /**
   * A planted bug, for tests that the checker catches it: the switch writes the first half of the
   * staged image into the live store and the rest waits for the WAL save.
   */
  private readonly tornInstall: boolean;
  /** With tornInstall: member -> the staged image whose second half is still to be written. */
  private readonly tornInstallRest = new Map<number, Uint8Array>();
  readonly stats: SnapshotInstallStats = { installCrashesStaged: 0, installCrashesInstalled: 0, installsAlreadyHeld: 0 };

  constructor(host: SnapshotInstallHost, tornInstall: boolean) {
    this.host = host;
    this.tornInstall = tornInstall;
  }

  /** `member` is persisting a Ready that carries a snapshot. */
  begin(member: SimMember): void {
    const random = this.host.random;
    const crashAt = random.chance(this.host.installCrashProbability()) ? random.pick<InstallCrashPoint>(['staged', 'installed']) : null;
    this.host.schedule(this.host.diskLatencyMs(), { kind: 'snapshot-switch', member: member.id, incarnation: member.incarnation, crashAt });
  }

  onSwitch(id: number, incarnation: number, crashAt: InstallCrashPoint | null): void {
    const member = this.host.member(id);
    const snapshot = member?.persisting?.ready.snapshot;
    if (member === undefined || member.incarnation !== incarnation || snapshot == null) return;
    if (crashAt === 'staged') {
      this.stats.installCrashesStaged++;
      this.host.trace(`${id} crashes with snapshot ${snapshot.metadata.index} staged, not installed`);
      this.host.crash(member);
      return;
    }
    this.switchIn(member, snapshot);
    if (crashAt === 'installed') {
      this.stats.installCrashesInstalled++;
      this.host.trace(`${id} crashes with snapshot ${snapshot.metadata.index} installed, before its WAL records it`);
      this.host.crash(member);
      return;
    }
    this.host.schedule(this.host.diskLatencyMs(), { kind: 'persisted', member: id, incarnation });
  }

  /** The WAL recorded `snapshot` for `member`. */
  walSaved(member: SimMember, snapshot: Snapshot): void {
    const rest = this.tornInstallRest.get(member.id);
    if (rest === undefined) return;
    this.tornInstallRest.delete(member.id);
    this.replaceStore(member, snapshot, rest);
  }

  crashed(member: SimMember): void {
    this.tornInstallRest.delete(member.id);
  }

  /** The atomic switch: the staged, verified copy becomes the store in one step. */
  private switchIn(member: SimMember, snapshot: Snapshot): void {
    const staged = member.takeStagedSnapshot(snapshot.metadata.index);
    if (staged === undefined) throw new Error(`member ${member.id} installs snapshot ${snapshot.metadata.index} with no staged copy`);
    if (snapshot.metadata.index <= member.sm.appliedIndex) {
      // The store was switched to this snapshot (or past it) before a crash that came before the
      // WAL recorded it: keep it rather than go back; the entries after are skipped as replays.
      this.stats.installsAlreadyHeld++;
      this.host.trace(`${member.id} already holds snapshot ${snapshot.metadata.index} (applied ${member.sm.appliedIndex})`);
      return;
    }
    if (this.tornInstall) {
      const live = member.sm.image();
      live.set(staged.subarray(0, staged.byteLength / 2));
      member.sm = SimStateMachine.fromImage(live, snapshot.metadata.confState);
      this.tornInstallRest.set(member.id, staged);
      return;
    }
    this.replaceStore(member, snapshot, staged);
  }

  private replaceStore(member: SimMember, snapshot: Snapshot, image: Uint8Array): void {
    const store = SimStateMachine.fromImage(image, snapshot.metadata.confState);
    this.host.checker.applied(member.id, snapshot.metadata.index, store.chain);
    member.sm = store;
    this.host.trace(`${member.id} installed snapshot at ${snapshot.metadata.index}`);
    this.host.installed(member, snapshot.metadata.index);
  }
}
