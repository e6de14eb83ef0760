// A small world of cores driven by readable commands, for the golden-file scenarios in
// test/raft/testdata/. Every member persists to a MemoryStorage "disk"; messages wait in a
// mailbox until a command delivers them, so a scenario controls every interleaving.

import {
  ConfChangeType,
  EntryType,
  MemoryStorage,
  MessageType,
  RawNode,
  SeededRandom,
  decodeConfChange,
  messageTypeName,
  type ConfChange,
  type Entry,
  type Message,
  type Ready,
} from '../../../src/raft/index.js';
import { inspectRaft } from '../../../src/raft/inspect.js';

interface Member {
  readonly id: number;
  readonly disk: MemoryStorage;
  node: RawNode | null;
  applied: string[];
  lives: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class InteractionEnv {
  private readonly members = new Map<number, Member>();
  private mailbox: Message[] = [];
  private readonly cut = new Set<string>();
  private preVote = true;
  private checkQuorum = true;
  private output: string[] = [];

  /** Runs one command line and returns what it printed. */
  run(line: string): string {
    this.output = [];
    const [command, ...words] = line.trim().split(/\s+/);
    const args = new Map<string, string>();
    const positional: string[] = [];
    for (const word of words) {
      const eq = word.indexOf('=');
      if (eq > 0) args.set(word.slice(0, eq), word.slice(eq + 1));
      else positional.push(word);
    }
    const id = (at = 0): number => Number(positional[at]);
    switch (command) {
      case 'add-nodes':
        this.addNodes(Number(positional[0]), args);
        break;
      case 'campaign':
        this.node(id()).campaign();
        break;
      case 'tick':
        for (let i = 0; i < Number(args.get('times') ?? '1'); i++) this.node(id()).tick();
        break;
      case 'tick-until-leader': {
        // Ticks the listed members together, stabilizing between ticks, until one leads.
        const ids = positional.map(Number);
        for (let round = 1; round <= Number(args.get('max') ?? '100'); round++) {
          for (const target of ids) this.member(target).node?.tick();
          this.stabilize(ids);
          const leader = ids.find((target) => this.member(target).node?.status().state === 'leader');
          if (leader !== undefined) {
            this.print(`leader ${leader} after ${round} ticks`);
            break;
          }
        }
        break;
      }
      case 'tick-heartbeat':
        for (let i = 0; i < inspectRaft(this.node(id())).heartbeatTimeout; i++) this.node(id()).tick();
        break;
      case 'propose':
        this.guard(() => this.node(id()).propose(encoder.encode(positional[1])));
        break;
      case 'propose-batch':
        this.guard(() => this.node(id()).proposeBatch(positional.slice(1).map((word) => encoder.encode(word))));
        break;
      case 'propose-conf-change':
        this.guard(() => this.node(id()).proposeConfChange(parseConfChange(positional[1], Number(positional[2]))));
        break;
      case 'read-index':
        this.guard(() => this.node(id()).readIndex(encoder.encode(positional[1])));
        break;
      case 'transfer-leadership':
        this.node(id()).transferLeadership(Number(positional[1]));
        break;
      case 'stabilize':
        this.stabilize(positional.length > 0 ? positional.map(Number) : [...this.members.keys()]);
        break;
      case 'process-ready':
        for (const target of positional.map(Number)) this.processReady(this.member(target));
        break;
      case 'deliver-msgs':
        this.deliver(positional.length > 0 ? positional.map(Number) : [...this.members.keys()], args.get('drop') === 'true');
        break;
      case 'isolate':
        for (const other of this.members.keys()) if (other !== id()) this.cutBoth(id(), other);
        this.print(`isolated ${id()}`);
        break;
      case 'heal':
        this.cut.clear();
        this.print('healed');
        break;
      case 'crash':
        this.member(id()).node = null;
        this.print(`crashed ${id()}`);
        break;
      case 'restart':
        this.start(this.member(id()));
        this.print(`restarted ${id()}`);
        break;
      case 'status':
        for (const target of positional.length > 0 ? positional.map(Number) : [...this.members.keys()]) this.printStatus(target);
        break;
      case 'raft-log':
        this.printLog(id());
        break;
      case 'applied':
        this.print(`${id()} applied: ${this.member(id()).applied.join(' ') || '(nothing)'}`);
        break;
      case 'compact':
        this.compact(id(), Number(positional[1]));
        break;
      default:
        throw new Error(`unknown command ${command}`);
    }
    return this.output.join('\n');
  }

  private print(line: string): void {
    this.output.push(line);
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.print(`error: ${(error as Error).message}`);
    }
  }

  private addNodes(count: number, args: Map<string, string>): void {
    this.preVote = args.get('prevote') !== 'false';
    this.checkQuorum = args.get('checkquorum') !== 'false';
    const voters = Array.from({ length: count }, (_, i) => this.members.size + i + 1);
    const learners = (args.get('learners') ?? '').split(',').filter(Boolean).map(Number);
    const founders = voters.filter((id) => !learners.includes(id));
    // Joiners start with an empty disk and learn the configuration from the leader.
    const joining = args.get('join') === 'true';
    for (const id of voters) {
      const disk = new MemoryStorage();
      if (!joining) disk.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters: founders, learners } }, data: new Uint8Array(0) });
      const member: Member = { id, disk, node: null, applied: [], lives: 0 };
      this.members.set(id, member);
      this.start(member);
    }
    if (joining) this.print(`added ${voters.join(' ')} with empty disks`);
    else this.print(`added ${voters.join(' ')} (voters ${founders.join(',')}${learners.length ? `; learners ${learners.join(',')}` : ''})`);
  }

  private start(member: Member): void {
    member.lives++;
    member.node = new RawNode({
      id: member.id,
      electionTicks: 10,
      heartbeatTicks: 1,
      storage: member.disk,
      random: new SeededRandom(member.id * 1000 + member.lives),
      preVote: this.preVote,
      checkQuorum: this.checkQuorum,
    });
  }

  private member(id: number): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  private node(id: number): RawNode {
    const node = this.member(id).node;
    if (node === null) throw new Error(`member ${id} is down`);
    return node;
  }

  private cutBoth(a: number, b: number): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  /** Processes Readies and delivers messages among `ids` until nothing moves. */
  private stabilize(ids: number[]): void {
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const id of ids) {
        const member = this.member(id);
        if (member.node?.hasReady()) {
          this.processReady(member);
          moved = true;
        }
      }
      if (this.mailbox.some((m) => ids.includes(m.to))) {
        this.deliver(ids, false);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('stabilize did not converge');
  }

  private processReady(member: Member): void {
    const node = member.node;
    if (node === null || !node.hasReady()) return;
    const ready = node.ready();
    this.printReady(member.id, ready);
    if (ready.snapshot !== null) member.disk.applySnapshot(ready.snapshot);
    member.disk.append(ready.entries);
    if (ready.hardState !== null) member.disk.setHardState(ready.hardState);
    this.mailbox.push(...ready.messages, ...ready.messagesAfterPersist);
    for (const entry of ready.committedEntries) this.apply(member, node, entry);
    node.advance();
  }

  private apply(member: Member, node: RawNode, entry: Entry): void {
    if (entry.type === EntryType.ConfChange) {
      const change = decodeConfChange(entry.data);
      const state = node.applyConfChange(change);
      member.applied.push(`${entry.index}:conf(${describeConfChange(change)})`);
      this.print(`  ${member.id} applied conf change: voters=${state.voters.join(',')} learners=${state.learners.join(',') || '-'}`);
    } else if (entry.data.byteLength > 0) {
      member.applied.push(`${entry.index}:${decoder.decode(entry.data)}`);
    }
  }

  private deliver(ids: number[], drop: boolean): void {
    const pending = this.mailbox;
    this.mailbox = [];
    for (const message of pending) {
      if (!ids.includes(message.to)) {
        this.mailbox.push(message);
        continue;
      }
      const target = this.members.get(message.to);
      const lost = drop || this.cut.has(`${message.from}->${message.to}`) || target?.node == null;
      this.print(`${lost ? 'dropped' : 'deliver'} ${describeMessage(message)}`);
      if (lost) continue;
      target?.node?.step(message);
      if (message.type === MessageType.Snap) this.members.get(message.from)?.node?.reportSnapshot(message.to, true);
    }
  }

  private printReady(id: number, ready: Ready): void {
    const parts: string[] = [];
    if (ready.softState !== null) parts.push(`lead=${ready.softState.lead} state=${['follower', 'pre-candidate', 'candidate', 'leader'][ready.softState.state]}`);
    if (ready.hardState !== null) parts.push(`hard(term=${ready.hardState.term} vote=${ready.hardState.vote} commit=${ready.hardState.commit})`);
    if (ready.entries.length > 0) parts.push(`persist ${ready.entries.map(describeEntry).join(' ')}`);
    if (ready.snapshot !== null) parts.push(`snapshot ${ready.snapshot.metadata.index}/${ready.snapshot.metadata.term}`);
    if (ready.committedEntries.length > 0) parts.push(`apply ${ready.committedEntries.map(describeEntry).join(' ')}`);
    for (const state of ready.readStates) parts.push(`read ${decoder.decode(state.context)}@${state.index}`);
    this.print(`${id} ready: ${parts.join('; ') || '(messages only)'}`);
  }

  private printStatus(id: number): void {
    const node = this.member(id).node;
    if (node === null) {
      this.print(`${id}: down`);
      return;
    }
    const status = node.status();
    this.print(`${id}: ${status.state} term=${status.term} lead=${status.lead} vote=${status.vote} commit=${status.commit} applied=${status.applied} last=${status.lastIndex}${status.isLearner ? ' learner' : ''}`);
  }

  private printLog(id: number): void {
    const node = this.node(id);
    const log = inspectRaft(node).log;
    const entries = log.slice(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
    this.print(`${id} log: ${entries.map(describeEntry).join(' ') || '(empty)'}`);
  }

  private compact(id: number, index: number): void {
    const member = this.member(id);
    const node = this.node(id);
    member.disk.createSnapshot(index, node.confState(), new Uint8Array(0));
    member.disk.compact(index);
    this.print(`${id} compacted to ${index}`);
  }
}

function parseConfChange(kind: string, nodeId: number): ConfChange {
  const types: Record<string, ConfChange['type']> = {
    add: ConfChangeType.AddNode,
    'add-learner': ConfChangeType.AddLearnerNode,
    remove: ConfChangeType.RemoveNode,
  };
  const type = types[kind];
  if (type === undefined) throw new Error(`unknown conf change ${kind}`);
  return { type, nodeId, context: new Uint8Array(0) };
}

function describeConfChange(change: ConfChange): string {
  return `${['add', 'remove', 'update', 'add-learner'][change.type]} ${change.nodeId}`;
}

function describeEntry(entry: Entry): string {
  if (entry.type === EntryType.ConfChange) return `${entry.term}/${entry.index} conf(${describeConfChange(decodeConfChange(entry.data))})`;
  return `${entry.term}/${entry.index}${entry.data.byteLength > 0 ? ` ${decoder.decode(entry.data)}` : ''}`;
}

function describeMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} ${messageTypeName[m.type]} term=${m.term}`];
  switch (m.type) {
    case MessageType.App:
      parts.push(`prev=${m.logTerm}/${m.index} commit=${m.commit}`);
      if (m.entries.length > 0) parts.push(`[${m.entries.map(describeEntry).join(', ')}]`);
      break;
    case MessageType.AppResp:
      parts.push(m.reject ? `reject index=${m.index} hint=${m.logTerm}/${m.rejectHint}` : `index=${m.index}`);
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      parts.push(`last=${m.logTerm}/${m.index}${m.transfer ? ' transfer' : ''}`);
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      if (m.reject) parts.push('reject');
      break;
    case MessageType.Heartbeat:
      parts.push(`commit=${m.commit}`);
      if (m.readRound !== 0) parts.push(`round=${m.readRound}`);
      break;
    case MessageType.HeartbeatResp:
      if (m.readRound !== 0) parts.push(`round=${m.readRound}`);
      break;
    case MessageType.Snap:
      parts.push(`snapshot=${m.snapshot?.metadata.term}/${m.snapshot?.metadata.index}`);
      break;
    case MessageType.ReadIndex:
    case MessageType.ReadIndexResp:
      parts.push(`ctx=${decoder.decode(m.context)}${m.type === MessageType.ReadIndexResp ? ` index=${m.index}` : ''}`);
      break;
    case MessageType.Prop:
      parts.push(`[${m.entries.map((entry) => decoder.decode(entry.data)).join(', ')}]`);
      break;
  }
  return parts.join(' ');
}
