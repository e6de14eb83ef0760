// A deterministic cluster simulator over the real consensus core. One seed fixes the scenario, the
// network's fate for every packet, the faults, the client workload and every election timeout.
// After every event the invariant checker sees what changed; the first violation ends the run.

import {
  ConfChangeType,
  EntryType,
  MessageType,
  ProposalDroppedError,
  SeededRandom,
  decodeConfChange,
  messageTypeName,
  type ConfChange,
  type Entry,
  type Message,
} from '../../src/raft/index.js';
import { inspectRaft } from '../../src/raft/inspect.js';
import { READY_ORDER, readySteps, type DiskStep, type ReadyHost, type ReadyStage } from '../../src/server/ready-loop.js';
import { onlyCommitAdvances } from '../../src/storage/index.js';
import { EventQueue, type Timed } from './event-queue.js';
import { hashBytes } from './hash.js';
import { InvariantChecker, Violation, ViolationKind, type LogView } from './invariants.js';
import { SimMember } from './member.js';
import { SimNetwork, type Packet } from './network.js';
import type { Scenario } from './scenario.js';
import { SnapshotInstaller, type SnapshotInstallEvent, type SnapshotInstallStats } from './snapshot-install.js';
import { SnapshotTransfers, type SnapshotStreamEvent, type SnapshotTransferStats } from './snapshot-transfer.js';

type SimEventBody =
    | { kind: 'tick'; member: number; incarnation: number }
    | { kind: 'deliver'; packet: Packet }
    | SnapshotInstallEvent
    | { kind: 'snapshot-status'; from: number; incarnation: number; to: number; succeeded: boolean }
    | SnapshotStreamEvent
    | { kind: 'client' }
    | { kind: 'fault' }
    | { kind: 'restart'; member: number }
    | { kind: 'heal' }
    | { kind: 'liveness' };
type SimEvent = Timed & SimEventBody;

export interface RunStats extends SnapshotTransferStats, SnapshotInstallStats {
  simulatedMs: number;
  events: number;
  proposals: number;
  acknowledgedWrites: number;
  readsConfirmed: number;
  leaderChanges: number;
  crashes: number;
  confChangesApplied: number;
  packetsDelivered: number;
  packetsDropped: number;
  committedIndex: number;
  membersCreated: number;
}

export interface RunResult {
  readonly seed: number;
  readonly violation: Violation | null;
  readonly stats: RunStats;
  /** The last events before the end, for reading a failure. */
  readonly trace: readonly string[];
}

export interface SimOptions {
  readonly verbose?: boolean;
  /** A planted bug, for the checker's tests: a non-atomic install (see SnapshotInstaller). */
  readonly tornInstall?: boolean;
  /** A planted bug, for the checker's tests: a Ready's steps in another order than production's. */
  readonly readyOrder?: readonly ReadyStage[];
}

const TRACE_LINES_MAX = 400;
const EVENTS_MAX = 20_000_000;
const MEMBERS_ADDED_MAX = 4;
const CLIENT_SEQUENCE_BYTES = 8;

export class SimCluster {
  readonly scenario: Scenario;
  nowMs = 0;
  private sequence = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly random: SeededRandom;
  readonly network: SimNetwork;
  private readonly snapshots: SnapshotTransfers;
  private readonly installs: SnapshotInstaller;
  readonly checker = new InvariantChecker();
  readonly members = new Map<number, SimMember>();
  private nextMemberId: number;
  private nextClientSequence = 1;
  /** Proposals not yet acknowledged: client sequence -> member it was proposed on. */
  private readonly proposals = new Map<number, number>();
  /** Reads not yet confirmed: client sequence -> floor they must reach. */
  private readonly reads = new Map<number, number>();
  phase: 'faults' | 'healed' = 'faults';
  private healedAtMs = 0;
  /**
   * Liveness markers proposed after healing: sequence -> the index it landed at (once applied
   * somewhere) and the members whose state includes it (by applying it or a snapshot past it).
   */
  private readonly livenessMarkers = new Map<number, { index: number; appliedBy: Set<number> }>();
  private lastMarkerAtMs = -Infinity;
  finished = false;
  private lastLeader = 0;
  private readonly traceRing: string[] = [];
  private readonly verbose: boolean;
  readonly stats: RunStats = {
    simulatedMs: 0,
    events: 0,
    proposals: 0,
    acknowledgedWrites: 0,
    readsConfirmed: 0,
    leaderChanges: 0,
    crashes: 0,
    snapshotsStarted: 0,
    snapshotsCompleted: 0,
    snapshotsAborted: 0,
    snapshotsAbortedMidway: 0,
    snapshotChunksDelivered: 0,
    snapshotChecksumFailures: 0,
    installCrashesStaged: 0,
    installCrashesInstalled: 0,
    installsAlreadyHeld: 0,
    confChangesApplied: 0,
    packetsDelivered: 0,
    packetsDropped: 0,
    committedIndex: 0,
    membersCreated: 0,
  };

  /** The order of a Ready's steps: production's, unless a test plants a wrong one. */
  private readonly readyOrder: readonly ReadyStage[];

  constructor(scenario: Scenario, options: SimOptions = {}) {
    this.scenario = scenario;
    this.readyOrder = options.readyOrder ?? READY_ORDER;
    this.verbose = options.verbose ?? false;
    this.random = new SeededRandom(scenario.seed);
    this.network = new SimNetwork(scenario.network, new SeededRandom(scenario.seed ^ 0x5bd1e995));
    this.snapshots = new SnapshotTransfers(
      {
        network: this.network,
        member: (id) => this.members.get(id),
        schedule: (delayMs, event) => this.schedule(delayMs, event),
        reportStatus: (from, incarnation, to, succeeded, delayMs) => this.schedule(delayMs, { kind: 'snapshot-status', from, incarnation, to, succeeded }),
        deliver: (to, message) => {
          to.node?.step(message);
          this.afterInput(to);
        },
        trace: (line) => this.trace(line),
      },
      scenario.snapshotChunks,
      2 * scenario.network.delayMaxMs + scenario.tickMs,
    );
    this.installs = new SnapshotInstaller(
      {
        checker: this.checker,
        random: this.random,
        // A crash is a fault: none once the faults heal, or a member unlucky at every install
        // would fail the liveness check for the faults' sake.
        installCrashProbability: () => (this.phase === 'faults' ? scenario.installCrashProbability : 0),
        member: (id) => this.members.get(id),
        diskLatencyMs: () => this.diskLatencyMs(),
        schedule: (delayMs, event) => this.schedule(delayMs, event),
        crash: (member) => this.crash(member),
        installed: (member, index) => {
          for (const marker of this.livenessMarkers.values()) if (marker.index > 0 && marker.index <= index) marker.appliedBy.add(member.id);
        },
        trace: (line) => this.trace(line),
      },
      options.tornInstall ?? false,
    );
    const founders = Array.from({ length: scenario.memberCount }, (_, i) => i + 1);
    this.nextMemberId = founders.length + 1;
    for (const id of founders) this.addMember(new SimMember(id, { voters: founders, learners: [] }));
    this.schedule(this.random.intBetween(1, 10), { kind: 'client' });
    this.schedule(this.random.intBetween(50, scenario.faultIntervalMaxMs), { kind: 'fault' });
    this.schedule(scenario.faultPhaseTicks * scenario.tickMs, { kind: 'heal' });
  }

  // ---- running ------------------------------------------------------------------------------

  /** Runs to the end: a violation, or liveness shown after the faults heal. */
  run(): RunResult {
    this.runUntil(Infinity);
    return this.result();
  }

  /** Processes events up to simulated time `untilMs`. Returns the violation, if one happened. */
  runUntil(untilMs: number): Violation | null {
    while (!this.finished) {
      const next = this.queue.peek();
      if (next === undefined || next.atMs > untilMs) break;
      this.queue.pop();
      this.nowMs = next.atMs;
      this.stats.events++;
      try {
        if (this.stats.events > EVENTS_MAX) throw new Violation(ViolationKind.Liveness, `more than ${EVENTS_MAX} events`);
        this.handle(next);
      } catch (error) {
        this.violation = error instanceof Violation ? error : new Violation(ViolationKind.CoreAssertion, String(error), { cause: error });
        if (!(error instanceof Violation) && error instanceof Error && error.stack) this.trace(error.stack);
        this.finished = true;
      }
    }
    if (untilMs !== Infinity) this.nowMs = Math.max(this.nowMs, untilMs);
    return this.violation;
  }

  violation: Violation | null = null;

  result(): RunResult {
    this.stats.simulatedMs = this.nowMs;
    this.stats.committedIndex = this.checker.committedIndex;
    this.stats.packetsDelivered = this.network.delivered;
    this.stats.packetsDropped = this.network.dropped;
    Object.assign(this.stats, this.snapshots.stats, this.installs.stats);
    return { seed: this.scenario.seed, violation: this.violation, stats: { ...this.stats }, trace: [...this.traceRing] };
  }

  private schedule(delayMs: number, event: SimEventBody): void {
    this.queue.push({ ...event, atMs: this.nowMs + delayMs, sequence: this.sequence++ });
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick':
        return this.onTick(event.member, event.incarnation);
      case 'deliver':
        return this.onDeliver(event.packet);
      case 'persisted':
        return this.onPersisted(event.member, event.incarnation);
      case 'snapshot-status':
        return this.onSnapshotStatus(event.from, event.incarnation, event.to, event.succeeded);
      case 'snapshot-chunk':
      case 'snapshot-chunk-ack':
        return this.snapshots.handle(event);
      case 'snapshot-switch':
        return this.installs.onSwitch(event.member, event.incarnation, event.crashAt);
      case 'client':
        return this.onClient();
      case 'fault':
        return this.onFault();
      case 'restart':
        return this.onRestart(event.member);
      case 'heal':
        return this.onHeal();
      case 'liveness':
        return this.onLiveness();
    }
  }

  private trace(line: string): void {
    const stamped = `[${String(this.nowMs).padStart(6)}ms] ${line}`;
    if (this.verbose) console.log(stamped);
    this.traceRing.push(stamped);
    if (this.traceRing.length > TRACE_LINES_MAX) this.traceRing.shift();
  }

  // ---- members ------------------------------------------------------------------------------

  private addMember(member: SimMember): void {
    this.members.set(member.id, member);
    this.stats.membersCreated++;
    this.startMember(member);
  }

  private startMember(member: SimMember): void {
    member.start(this.scenario);
    this.checker.started(member.id, member.sm.appliedIndex, member.sm.chain, member.disk.firstIndex() - 1);
    this.trace(`start ${member.id} (life ${member.incarnation}, applied ${member.sm.appliedIndex})`);
    this.schedule(this.random.intBetween(1, this.scenario.tickMs), { kind: 'tick', member: member.id, incarnation: member.incarnation });
    this.afterInput(member);
  }

  private liveMembers(): SimMember[] {
    return [...this.members.values()].filter((member) => member.isUp);
  }

  /** The live leader with the highest term, if any. */
  leader(): SimMember | undefined {
    let best: SimMember | undefined;
    for (const member of this.members.values()) {
      const node = member.node;
      if (node === null || !node.isLeader()) continue;
      if (best === undefined || node.term() > (best.node?.term() ?? 0)) best = member;
    }
    return best;
  }

  private onTick(id: number, incarnation: number): void {
    const member = this.members.get(id);
    if (member === undefined || member.incarnation !== incarnation || member.node === null) return;
    member.node.tick();
    this.afterInput(member);
    this.schedule(this.scenario.tickMs, { kind: 'tick', member: id, incarnation });
  }

  /** After any input to a member: check what changed, then let it make progress. */
  private afterInput(member: SimMember): void {
    this.observe(member);
    this.pump(member);
  }

  private observe(member: SimMember): void {
    const node = member.node;
    if (node === null) return;
    if (node.isLeader()) {
      const term = node.term();
      this.checker.leader(term, member.id);
      if (member.leaderTermObserved !== term) {
        member.leaderTermObserved = term;
        this.checker.newLeaderLog(member.id, term, logView(member));
        if (this.lastLeader !== member.id) this.stats.leaderChanges++;
        this.lastLeader = member.id;
        this.trace(`${member.id} leads term ${term} (last ${node.lastIndex()}, commit ${node.committedIndex()})`);
      }
    }
    const committed = node.committedIndex();
    if (committed > member.committedObserved) {
      // The checker compares the terms of committed entries, which only the core's log holds.
      const log = inspectRaft(node).log;
      const from = Math.max(member.committedObserved + 1, log.firstIndex() - 1);
      for (let index = from; index <= committed; index++) this.checker.committed(member.id, index, log.term(index));
      member.committedObserved = committed;
    }
  }

  /** Hands out Readies until the member waits on its disk or has nothing to do. */
  private pump(member: SimMember): void {
    while (member.node !== null && member.persisting === null && member.node.hasReady()) {
      const ready = member.node.ready();
      this.checkNewEntries(member, ready.entries);
      member.persisting = { ready, steps: readySteps(ready, this.readyHost(member), this.readyOrder), step: null };
      this.resume(member);
    }
  }

  /** What the production Ready steps act on in this member, besides its disk. */
  private readyHost(member: SimMember): ReadyHost<void> {
    return {
      send: (messages) => this.send(member, messages),
      apply: (entries) => {
        for (const entry of entries) this.applyEntry(member, entry);
      },
      advance: () => member.node?.advance(),
      settle: () => {},
      confirmReads: (readStates) => {
        for (const readState of readStates) this.onReadState(member, readState.index, readState.context);
      },
    };
  }

  /** Runs the member's Ready steps until one waits on its disk, or to the end of the Ready. */
  private resume(member: SimMember): void {
    const persisting = member.persisting;
    if (persisting === null) return;
    for (;;) {
      const next = persisting.steps.next();
      if (next.done === true) {
        this.finishReady(member);
        return;
      }
      const step = next.value;
      persisting.step = step;
      if (step.kind === 'install-snapshot') {
        this.installs.begin(member);
        return;
      }
      const latencyMs = this.diskLatencyMs();
      if (latencyMs > 0) {
        this.schedule(latencyMs, { kind: 'persisted', member: member.id, incarnation: member.incarnation });
        return;
      }
      this.save(member, step);
    }
  }

  private diskLatencyMs(): number {
    return this.scenario.diskLatencyMaxMs === 0 ? 0 : this.random.intBetween(0, this.scenario.diskLatencyMaxMs);
  }

  private checkNewEntries(member: SimMember, entries: readonly Entry[]): void {
    const node = member.node;
    if (node === null || entries.length === 0) return;
    let prevTerm = inspectRaft(node).log.termOrZero(entries[0].index - 1);
    for (const entry of entries) {
      this.checker.logEntry(member.id, entry.index, entry.term, hashBytes(entry.data), prevTerm);
      prevTerm = entry.term;
    }
  }

  private onPersisted(id: number, incarnation: number): void {
    const member = this.members.get(id);
    const step = member?.persisting?.step;
    if (member === undefined || member.incarnation !== incarnation || step == null) return;
    // An install step's write (the store switched in) was done by the SnapshotInstaller.
    if (step.kind === 'save') this.save(member, step);
    this.resume(member);
    this.afterInput(member);
  }

  /** A Ready's save reached the disk, with the WAL's rule for a hard state that only advances the commit. */
  private save(member: SimMember, step: DiskStep & { kind: 'save' }): void {
    const disk = member.disk;
    const heldBack = !step.mustSync && onlyCommitAdvances(disk.getHardState(), step);
    if (step.snapshot !== null) {
      // The store already holds it (SnapshotInstaller switched it in): the WAL records it now.
      disk.applySnapshot(step.snapshot);
      this.installs.walSaved(member, step.snapshot);
    }
    disk.append(step.entries);
    if (step.hardState !== null) disk.setHardState(step.hardState);
    if (!heldBack) member.hardStateWritten();
  }

  /** The Ready's steps have all run. A member that applied its own removal shuts down now, as a real one does. */
  private finishReady(member: SimMember): void {
    member.persisting = null;
    if (member.removed) {
      member.crash();
      this.trace(`${member.id} removed; shut down`);
      return;
    }
    this.maybeCompact(member);
    this.observe(member);
  }

  private applyEntry(member: SimMember, entry: Entry): void {
    const node = member.node;
    if (node === null) return;
    if (entry.index <= member.sm.appliedIndex) {
      // Replay after a restart: the state machine has this already, but the core's configuration
      // (restored from the snapshot) must see configuration changes again.
      if (entry.type === EntryType.ConfChange) node.applyConfChange(decodeConfChange(entry.data));
      return;
    }
    if (entry.index !== member.sm.appliedIndex + 1) {
      throw new Violation(ViolationKind.StateMachineSafety, `member ${member.id} applies ${entry.index} after ${member.sm.appliedIndex}`);
    }
    member.sm.apply(entry);
    this.checker.applied(member.id, entry.index, member.sm.chain);
    if (entry.type === EntryType.ConfChange) {
      const change = decodeConfChange(entry.data);
      member.sm.confState = node.applyConfChange(change);
      this.stats.confChangesApplied++;
      this.trace(`${member.id} applied ${describeConfChange(change)} at ${entry.index}: voters ${member.sm.confState.voters} learners ${member.sm.confState.learners}`);
      if (change.type === ConfChangeType.RemoveNode && change.nodeId === member.id) {
        // Like a real member, one that applies its own removal finishes the Ready, then shuts down.
        member.removed = true;
      }
      return;
    }
    if (entry.data.byteLength !== CLIENT_SEQUENCE_BYTES) return;
    const clientSequence = new DataView(entry.data.buffer, entry.data.byteOffset).getFloat64(0);
    const marker = this.livenessMarkers.get(clientSequence);
    if (marker !== undefined) {
      marker.index = entry.index;
      marker.appliedBy.add(member.id);
    }
    if (this.proposals.get(clientSequence) === member.id) {
      this.proposals.delete(clientSequence);
      this.checker.writeAcknowledged(entry.index);
      this.stats.acknowledgedWrites++;
    }
  }

  private maybeCompact(member: SimMember): void {
    const node = member.node;
    if (node === null) return;
    const applied = member.sm.appliedIndex;
    const snapshotIndex = member.disk.firstIndex() - 1;
    // Only once the core has caught up with the state machine (after a restart's replay).
    if (applied - snapshotIndex < this.scenario.snapshotEveryEntries || node.appliedIndex() < applied) return;
    member.disk.createSnapshot(applied, member.sm.confState, member.sm.image());
    member.hardStateWritten(); // the snapshot's write carries the held-back commit
    const compactTo = applied - this.scenario.snapshotCatchUpEntries;
    if (compactTo > snapshotIndex) member.disk.compact(compactTo);
  }

  // ---- network ------------------------------------------------------------------------------

  private send(member: SimMember, messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.type === MessageType.Snap) {
        this.snapshots.start(member, message);
        continue;
      }
      const packet: Packet = { from: member.id, to: message.to, message };
      const delays = this.network.route(packet);
      if (delays.length === 0) {
        this.network.dropped++;
        continue;
      }
      for (const delayMs of delays) this.schedule(delayMs, { kind: 'deliver', packet });
    }
  }

  private onDeliver(packet: Packet): void {
    this.network.packetsInFlight--;
    const target = this.members.get(packet.to);
    const message = packet.message;
    if (target?.node == null || this.network.isCut(packet.from, packet.to)) {
      this.network.dropped++;
      return;
    }
    this.network.delivered++;
    if (this.verbose) this.trace(`${packet.from}->${packet.to} ${describeMessage(message)}`);
    target.node.step(message);
    this.afterInput(target);
  }

  private onSnapshotStatus(from: number, incarnation: number, to: number, succeeded: boolean): void {
    const sender = this.members.get(from);
    if (sender?.node == null || sender.incarnation !== incarnation) return;
    sender.node.reportSnapshot(to, succeeded);
    this.afterInput(sender);
  }

  // ---- clients ------------------------------------------------------------------------------

  private clientBytes(sequence: number): Uint8Array {
    const bytes = new Uint8Array(CLIENT_SEQUENCE_BYTES);
    new DataView(bytes.buffer).setFloat64(0, sequence);
    return bytes;
  }

  private onClient(): void {
    this.schedule(this.random.intBetween(1, this.scenario.clientOpIntervalMaxMs), { kind: 'client' });
    const live = this.liveMembers();
    if (live.length === 0) return;
    const roll = this.random.nextFloat();
    if (roll < 0.6) this.propose(this.random.pick(live));
    else if (roll < 0.9) this.read(this.random.pick(live));
    else if (this.phase === 'faults' && roll < 0.95) this.transferLeadership();
    else if (this.phase === 'faults' && this.scenario.membershipChanges) this.changeMembership();
  }

  private propose(member: SimMember): void {
    const sequence = this.nextClientSequence++;
    try {
      member.node?.propose(this.clientBytes(sequence));
      this.proposals.set(sequence, member.id);
      this.stats.proposals++;
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
    this.afterInput(member);
  }

  private read(member: SimMember): void {
    const sequence = this.nextClientSequence++;
    const floor = this.checker.readStarted();
    try {
      member.node?.readIndex(this.clientBytes(sequence));
      this.reads.set(sequence, floor);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
    this.afterInput(member);
  }

  private onReadState(member: SimMember, index: number, context: Uint8Array): void {
    if (context.byteLength !== CLIENT_SEQUENCE_BYTES) return;
    const sequence = new DataView(context.buffer, context.byteOffset).getFloat64(0);
    const floor = this.reads.get(sequence);
    if (floor === undefined) return;
    this.reads.delete(sequence);
    this.checker.readConfirmed(member.id, index, floor);
    this.stats.readsConfirmed++;
  }

  private transferLeadership(): void {
    const leader = this.leader();
    if (leader?.node == null) return;
    const voters = leader.node.voters().filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const transferee = this.random.pick(voters);
    this.trace(`transfer leadership ${leader.id} -> ${transferee}`);
    leader.node.transferLeadership(transferee);
    this.afterInput(leader);
  }

  private changeMembership(): void {
    const leader = this.leader();
    if (leader?.node == null) return;
    const { voters, learners } = leader.node.confState();
    const canAdd = this.stats.membersCreated < this.scenario.memberCount + MEMBERS_ADDED_MAX;
    const choices: Array<() => ConfChange | null> = [];
    if (canAdd) {
      choices.push(() => ({ type: ConfChangeType.AddLearnerNode, nodeId: this.createJoiner(), context: new Uint8Array(0) }));
      choices.push(() => ({ type: ConfChangeType.AddNode, nodeId: this.createJoiner(), context: new Uint8Array(0) }));
    }
    if (learners.length > 0) {
      choices.push(() => ({ type: ConfChangeType.AddNode, nodeId: this.random.pick(learners), context: new Uint8Array(0) }));
      choices.push(() => ({ type: ConfChangeType.RemoveNode, nodeId: this.random.pick(learners), context: new Uint8Array(0) }));
    }
    if (voters.length > 3) {
      choices.push(() => ({ type: ConfChangeType.RemoveNode, nodeId: this.random.pick(voters), context: new Uint8Array(0) }));
    }
    if (choices.length === 0) return;
    const change = this.random.pick(choices)();
    if (change === null) return;
    this.trace(`propose ${describeConfChange(change)} on ${leader.id}`);
    try {
      leader.node.proposeConfChange(change);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
    this.afterInput(leader);
  }

  /** A new member with an empty disk; it learns everything from the leader. */
  private createJoiner(): number {
    const id = this.nextMemberId++;
    this.addMember(new SimMember(id, null));
    return id;
  }

  // ---- faults -------------------------------------------------------------------------------

  private onFault(): void {
    if (this.phase !== 'faults') return;
    this.schedule(this.random.intBetween(Math.ceil(this.scenario.faultIntervalMaxMs / 4), this.scenario.faultIntervalMaxMs), { kind: 'fault' });
    const ids = [...this.members.values()].filter((member) => !member.removed).map((member) => member.id);
    const roll = this.random.nextFloat();
    if (roll < 0.2) {
      const shuffled = shuffle(ids, this.random);
      const split = this.random.intBetween(1, shuffled.length - 1);
      this.network.partition(shuffled.slice(0, split), shuffled.slice(split));
      this.trace(`partition ${shuffled.slice(0, split)} | ${shuffled.slice(split)}`);
    } else if (roll < 0.35) {
      const leader = this.leader();
      if (leader !== undefined) {
        this.network.isolate(leader.id, ids);
        this.trace(`isolate leader ${leader.id}`);
      }
    } else if (roll < 0.45) {
      const from = this.random.pick(ids);
      const to = this.random.pick(ids);
      if (from !== to) {
        this.network.cutOneWay(from, to);
        this.trace(`cut ${from}->${to}`);
      }
    } else if (roll < 0.7) {
      this.network.healLinks();
      this.trace('heal links');
    } else if (roll < 0.9) {
      const live = this.liveMembers();
      if (live.length > 0) this.crash(this.random.pick(live));
    } else {
      this.network.options.lossProbability = this.random.pick([0, 0.01, 0.05, 0.2]);
      this.network.options.duplicateProbability = this.random.pick([0, 0.02, 0.1]);
    }
  }

  private crash(member: SimMember): void {
    member.crash();
    this.installs.crashed(member);
    this.stats.crashes++;
    this.trace(`crash ${member.id}`);
    // As the member process does when a crashed leader's port refuses connections: some of its
    // followers learn at once that it is gone and forget it (Raft.forgetLeader).
    for (const other of this.liveMembers()) {
      if (other.node?.leaderId() === member.id && this.random.chance(0.5)) {
        other.node.forgetLeader();
        this.trace(`${other.id} forgets leader ${member.id}`);
      }
    }
    this.schedule(this.random.intBetween(20, 1000), { kind: 'restart', member: member.id });
  }

  private onRestart(id: number): void {
    const member = this.members.get(id);
    if (member === undefined || member.isUp || member.removed) return;
    this.startMember(member);
  }

  private onHeal(): void {
    this.phase = 'healed';
    this.healedAtMs = this.nowMs;
    this.network.healLinks();
    this.network.options.lossProbability = 0;
    this.network.options.duplicateProbability = 0;
    this.trace('heal everything');
    for (const member of this.members.values()) if (!member.isUp && !member.removed) this.startMember(member);
    this.livenessDeadlineMs = this.nowMs + this.scenario.livenessTicksMax * this.scenario.tickMs + this.backlogCatchUpMs();
    this.schedule(this.scenario.tickMs, { kind: 'liveness' });
  }

  /** After healing: a leader must emerge and get a new entry applied on every member it leads. */
  private onLiveness(): void {
    const electionMs = this.scenario.electionTicks * this.scenario.tickMs;
    const leader = this.leader();
    if (leader?.node != null) {
      const { voters, learners } = leader.node.confState();
      const required = [...voters, ...learners].filter((id) => {
        const member = this.members.get(id);
        return member !== undefined && !member.removed;
      });
      for (const { appliedBy } of this.livenessMarkers.values()) {
        if (required.every((id) => appliedBy.has(id))) {
          this.trace(`liveness shown ${this.nowMs - this.healedAtMs}ms after healing`);
          this.finished = true;
          return;
        }
      }
      if (this.nowMs - this.lastMarkerAtMs >= 3 * electionMs) {
        const sequence = this.nextClientSequence++;
        try {
          leader.node.propose(this.clientBytes(sequence));
          this.livenessMarkers.set(sequence, { index: 0, appliedBy: new Set() });
          this.lastMarkerAtMs = this.nowMs;
        } catch (error) {
          if (!(error instanceof ProposalDroppedError)) throw error;
        }
        this.afterInput(leader);
      }
    }
    if (this.nowMs > this.livenessDeadlineMs) {
      throw new Violation(ViolationKind.Liveness, `no new entry applied on every member ${this.nowMs - this.healedAtMs}ms after healing; ${this.describeMembers()}`);
    }
    this.schedule(this.scenario.tickMs, { kind: 'liveness' });
  }

  /**
   * Time a member may need to receive the backlog that piled up in some log during the faults:
   * liveness is about progress, and a throttled pipeline (one small message in flight) moves a
   * large backlog slowly but surely. Estimated generously from the scenario's limits.
   */
  private backlogCatchUpMs(): number {
    const lastIndexes = [...this.members.values()].filter((m) => !m.removed).map((m) => m.node?.lastIndex() ?? m.disk.lastIndex());
    const backlogEntries = Math.max(...lastIndexes) - Math.min(...lastIndexes);
    const entryBytes = 8 + 16;
    const entriesPerRoundTrip = Math.max(1, Math.floor(this.scenario.messageBytesMax / entryBytes)) * this.scenario.inflightMessagesMax;
    const roundTripMs = 2 * this.scenario.network.delayMaxMs + this.scenario.diskLatencyMaxMs + this.scenario.tickMs;
    return 2 * Math.ceil(backlogEntries / entriesPerRoundTrip) * roundTripMs;
  }

  private livenessDeadlineMs = Infinity;

  describeMembers(): string {
    return [...this.members.values()]
      .map((member) => {
        if (member.removed) return `${member.id}:removed`;
        const status = member.node?.status();
        if (status === undefined) return `${member.id}:down`;
        return `${member.id}:${status.state}/t${status.term}/lead${status.lead}/commit${status.commit}/applied${member.sm.appliedIndex}/last${status.lastIndex}${status.isLearner ? '/learner' : ''}`;
      })
      .join(' ');
  }
}

function logView(member: SimMember): LogView {
  if (member.node === null) return { firstIndex: 1, lastIndex: 0, termAt: () => 0 };
  const log = inspectRaft(member.node).log;
  return { firstIndex: log.firstIndex(), lastIndex: log.lastIndex(), termAt: (index) => log.termOrZero(index) };
}

function shuffle<T>(items: readonly T[], random: SeededRandom): T[] {
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.intBelow(i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function describeConfChange(change: ConfChange): string {
  const names = ['add-voter', 'remove', 'update', 'add-learner'];
  return `${names[change.type]} ${change.nodeId}`;
}

function describeMessage(m: Message): string {
  const parts = [`${messageTypeName[m.type]} t${m.term}`];
  if (m.type === MessageType.App || m.type === MessageType.AppResp) parts.push(`i${m.index} lt${m.logTerm} n${m.entries.length} c${m.commit}`);
  if (m.reject) parts.push(`reject hint${m.rejectHint}`);
  if (m.snapshot !== null) parts.push(`snap${m.snapshot.metadata.index}`);
  if (m.readRound !== 0) parts.push(`round${m.readRound}`);
  return parts.join(' ');
}
