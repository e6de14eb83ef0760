// A tiny synchronous in-memory network of RawNodes for the scenario tests in test/raft/.
//
// Every member has a MemoryStorage "disk". drain() repeatedly takes each member's Ready, persists it
// (snapshot, entries, hard state), applies committed entries (conf changes through applyConfChange),
// queues its messages, then advance()s; queued messages are delivered in FIFO order unless their
// link is cut or an interceptor drops them. It stops when no member has a Ready and nothing is queued.

import {
  ProposalDroppedError,
  EntryType,
  MemoryStorage,
  MessageType,
  RawNode,
  SeededRandom,
  decodeConfChange,
  type Config,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type ReadState,
  type Snapshot,
} from '../../src/raft/index.js';

export type NodeOptions = Partial<Omit<Config, 'id' | 'storage' | 'random'>>;

export interface Peer {
  readonly id: number;
  readonly storage: MemoryStorage;
  readonly node: RawNode;
  /** Every committed entry handed to this member, in order. */
  readonly applied: Entry[];
  /** Snapshots installed into the state machine. */
  readonly snapshots: Snapshot[];
  /** Every ReadState this member produced. */
  readonly readStates: ReadState[];
  /** Every hard state persisted. */
  readonly hardStates: HardState[];
  /** The configuration after each applied conf change. */
  readonly confStates: ConfState[];
}

export interface TraceEntry {
  readonly message: Message;
  /** false when the link was cut or the interceptor dropped it. */
  readonly delivered: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

/** A disk holding only the bootstrap snapshot (index 1, term 1) with the given configuration. */
export function bootstrapStorage(voters: readonly number[], learners: readonly number[] = []): MemoryStorage {
  const storage = new MemoryStorage();
  storage.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters: [...voters], learners: [...learners] } }, data: new Uint8Array(0) });
  return storage;
}

/**
 * A disk whose log has the given terms, `terms[i]` being the term of index i+1. Index 1 is the
 * bootstrap snapshot and must have term 1. The hard state's commit defaults to 1.
 */
export function storageWithLog(
  voters: readonly number[],
  terms: readonly number[],
  hardState: Partial<HardState> = {},
): MemoryStorage {
  if (terms[0] !== 1) throw new Error('index 1 is the bootstrap snapshot and has term 1');
  const storage = bootstrapStorage(voters);
  const entries: Entry[] = terms.slice(1).map((term, offset) => ({
    term,
    index: offset + 2,
    type: EntryType.Normal,
    data: bytes(`${offset + 2}/${term}`),
  }));
  storage.append(entries);
  storage.setHardState({ term: hardState.term ?? Math.max(...terms), vote: hardState.vote ?? 0, commit: hardState.commit ?? 1 });
  return storage;
}

/** The (index, term) pairs held by a disk, from its first index to its last. */
export function diskLog(storage: MemoryStorage): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  for (let index = storage.firstIndex(); index <= storage.lastIndex(); index++) result.push([index, storage.term(index)]);
  return result;
}

export function diskTerms(storage: MemoryStorage): number[] {
  const terms: number[] = [];
  for (let index = 1; index <= storage.lastIndex(); index++) terms.push(storage.term(index));
  return terms;
}

export interface NetworkOptions {
  readonly learners?: readonly number[];
  readonly config?: NodeOptions;
  /** Disks to start members with, instead of the bootstrap snapshot. */
  readonly storages?: ReadonlyMap<number, MemoryStorage>;
  readonly seed?: number;
}

export class Network {
  readonly peers = new Map<number, Peer>();
  readonly trace: TraceEntry[] = [];
  /** Returns the message to deliver (possibly changed) or null to drop it. */
  intercept: ((m: Message) => Message | null) | null = null;
  /** Queued messages; `bypass` ones skip the interceptor (see inject). */
  private queue: Array<{ readonly m: Message; readonly bypass: boolean }> = [];
  private readonly cutLinks = new Set<string>();
  private readonly isolated = new Set<number>();
  private readonly config: NodeOptions;
  private readonly seed: number;

  constructor(voters: readonly number[], options: NetworkOptions = {}) {
    this.config = options.config ?? {};
    this.seed = options.seed ?? 1;
    const learners = options.learners ?? [];
    for (const id of [...voters, ...learners]) {
      this.addNode(id, options.storages?.get(id) ?? bootstrapStorage(voters, learners));
    }
  }

  /** Starts a member on `storage` (an empty disk for a member joining later). */
  addNode(id: number, storage: MemoryStorage = new MemoryStorage(), config: NodeOptions = {}): Peer {
    const node = new RawNode({
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.config,
      ...config,
      id,
      storage,
      random: new SeededRandom(this.seed * 1000 + id),
    });
    const peer: Peer = { id, storage, node, applied: [], snapshots: [], readStates: [], hardStates: [], confStates: [] };
    this.peers.set(id, peer);
    return peer;
  }

  peer(id: number): Peer {
    const peer = this.peers.get(id);
    if (peer === undefined) throw new Error(`no member ${id}`);
    return peer;
  }

  node(id: number): RawNode {
    return this.peer(id).node;
  }

  ids(): number[] {
    return [...this.peers.keys()];
  }

  // ---- links --------------------------------------------------------------------------------

  isolate(id: number): void {
    this.isolated.add(id);
  }

  cut(a: number, b: number): void {
    this.cutLinks.add(`${a}->${b}`);
    this.cutLinks.add(`${b}->${a}`);
  }

  heal(): void {
    this.cutLinks.clear();
    this.isolated.clear();
  }

  linkUp(from: number, to: number): boolean {
    return !this.isolated.has(from) && !this.isolated.has(to) && !this.cutLinks.has(`${from}->${to}`);
  }

  // ---- driving ------------------------------------------------------------------------------

  /** Processes Readies and delivers messages until nothing moves. */
  drain(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const peer of this.peers.values()) {
        if (peer.node.hasReady()) {
          this.handleReady(peer);
          moved = true;
        }
      }
      if (this.queue.length > 0) {
        const pending = this.queue;
        this.queue = [];
        for (const { m, bypass } of pending) this.deliver(m, bypass);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('network did not quiesce');
  }

  private handleReady(peer: Peer): void {
    const { node, storage } = peer;
    const rd = node.ready();
    if (rd.snapshot !== null) {
      storage.applySnapshot(rd.snapshot);
      peer.snapshots.push(rd.snapshot);
    }
    storage.append(rd.entries);
    if (rd.hardState !== null) {
      storage.setHardState(rd.hardState);
      peer.hardStates.push(rd.hardState);
    }
    for (const m of [...rd.messages, ...rd.messagesAfterPersist]) this.queue.push({ m, bypass: false });
    for (const entry of rd.committedEntries) {
      peer.applied.push(entry);
      if (entry.type === EntryType.ConfChange) peer.confStates.push(node.applyConfChange(decodeConfChange(entry.data)));
    }
    peer.readStates.push(...rd.readStates);
    node.advance();
  }

  /** Queues messages (say, ones an interceptor held back) for delivery that skips the interceptor. */
  inject(messages: readonly Message[]): void {
    for (const m of messages) this.queue.push({ m, bypass: true });
  }

  private deliver(original: Message, bypass: boolean): void {
    const target = this.peers.get(original.to);
    let m: Message | null = original;
    if (target === undefined || !this.linkUp(original.from, original.to)) m = null;
    else if (this.intercept !== null && !bypass) m = this.intercept(original);
    this.trace.push({ message: m ?? original, delivered: m !== null });
    const sender = this.peers.get(original.from);
    if (m === null || target === undefined) {
      if (original.type === MessageType.Snap) sender?.node.reportSnapshot(original.to, false);
      return;
    }
    target.node.step(m);
    if (m.type === MessageType.Snap) sender?.node.reportSnapshot(m.to, true);
  }

  /** Ticks the given members (all by default) `times` times, draining after each round of ticks. */
  tick(times = 1, ids: readonly number[] = this.ids()): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) this.node(id).tick();
      this.drain();
    }
  }

  /** Ticks until one of `ids` leads (and every member of `ids` agrees); returns the leader. */
  tickUntilLeader(ids: readonly number[] = this.ids(), maxTicks = 500): number {
    for (let i = 0; i < maxTicks; i++) {
      const leader = this.leaderAmong(ids);
      if (leader !== undefined) return leader;
      this.tick(1, ids);
    }
    throw new Error(`no leader among ${ids.join(',')} after ${maxTicks} ticks`);
  }

  /** The member of `ids` that leads with the highest term, if any. */
  leaderAmong(ids: readonly number[] = this.ids()): number | undefined {
    let best: number | undefined;
    for (const id of ids) {
      const node = this.node(id);
      if (!node.isLeader()) continue;
      if (best === undefined || node.term() > this.node(best).term()) best = id;
    }
    return best;
  }

  /** Elects `id` by having it campaign, then drains. */
  elect(id: number): void {
    this.node(id).campaign();
    this.drain();
    if (!this.node(id).isLeader()) throw new Error(`${id} did not become leader`);
  }

  propose(id: number, data: string): void {
    this.node(id).propose(bytes(data));
    this.drain();
  }

  /** Messages seen on the wire so far (delivered or not) matching `filter`. */
  sent(filter: (m: Message) => boolean): Message[] {
    return this.trace.filter((t) => filter(t.message)).map((t) => t.message);
  }

  clearTrace(): void {
    this.trace.length = 0;
  }

  /** The data of the normal, non-empty entries a member applied. */
  appliedData(id: number): string[] {
    return this.peer(id).applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0).map((e) => text(e.data));
  }
}

/**
 * Three voters led by 1, with 3 cut off while `entries` proposals commit; then 1 snapshots at its
 * applied index and compacts its log there, so 3 can only catch up by snapshot.
 */
export function compactedLeader(entries: number): { net: Network; snapshotIndex: number } {
  const net = new Network([1, 2, 3]);
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < entries; i++) net.propose(1, `e${i}`);
  const { node, storage } = net.peer(1);
  const snapshotIndex = node.appliedIndex();
  storage.createSnapshot(snapshotIndex, node.confState(), bytes(`image@${snapshotIndex}`));
  storage.compact(snapshotIndex);
  return { net, snapshotIndex };
}

/** Runs `action`, which must throw ProposalDroppedError, and returns that error. */
export function catchDrop(action: () => void): ProposalDroppedError {
  try {
    action();
  } catch (error) {
    if (error instanceof ProposalDroppedError) return error;
    throw error;
  }
  throw new Error('expected a ProposalDroppedError');
}
