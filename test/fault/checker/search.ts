// The search for a linearization of one key's history, as Porcupine does it: Wing & Gong's depth-first
// search with Lowe's improvements. The history is a doubly linked list of call and return entries in
// time order. Walking it from the head, a call entry is a candidate to linearize next; lifting it takes
// its call and its return out of the list. Reaching a return entry means that operation's deadline
// passed with it still unplaced, so the last choice is undone (unlifted) and the walk resumes after it.
// A cache of (set of linearized operations, state) pairs prunes configurations already explored.
//
// Refinements that keep fault-injection histories, full of timeouts, tractable:
// - An indeterminate operation has no return entry (it returns at +infinity) and lives in a list of its
//   own, tried only after every determinate candidate: the search succeeds once every determinate
//   operation is placed, the indeterminate ones left over taking effect last, i.e. never.
// - The cache records configurations that failed, and a configuration is pruned if a failed one has the
//   same state, the same determinate operations and a subset of its indeterminate ones: whatever the
//   larger set could do, the smaller could do by placing the extra operations last. Without this, every
//   timed-out write that never took effect would double the configurations of the rest of the history.
// - An indeterminate operation is placed early only where the next operation needs it (see
//   needsItsPredecessor), and of interchangeable ones only the first (see isFirstOfItsClass).
// - A pending observer (a read, a failed cas) whose output fits the state is placed as a forced move,
//   with no alternatives tried (see startOfWalk).

import { ILLEGAL, type Step } from './kv-model.js';

export interface SearchProblem {
  readonly callTimes: readonly number[];
  /** Infinity for an indeterminate operation: it may take effect at any time after its call, or never. */
  readonly returnTimes: readonly number[];
  readonly steps: readonly Step[];
  /** Operations that never change the state where they are legal (see isObserver). */
  readonly observers: readonly boolean[];
  /** Classes of interchangeable indeterminate operations (see compileKeyHistory); -1 for determinate ones. */
  readonly interchangeable: readonly number[];
  readonly initialState: number;
  /** A performance.now() time after which the search gives up. */
  readonly deadline: number;
}

export type SearchOutcome =
  | { kind: 'linearizable' }
  | { kind: 'timed-out' }
  /** longestPrefix: operation indices, in the order of the longest linearization the search reached. */
  | { kind: 'violation'; longestPrefix: number[] };

export function searchLinearization(problem: SearchProblem): SearchOutcome {
  return new LinearizationSearch(problem).run();
}

/** The sentinel heading the list of determinate calls and returns. */
const MAIN_HEAD = 0;
const NIL = -1;
/** No candidate is left at this point of the walk, or the configuration is known to fail: backtrack. */
const NONE = -2;
const NOT_A_CALL = -1;
const NO_RETURN = -2;
/** The clock is read once per this many + 1 iterations: often enough to stop promptly, rarely enough to cost nothing. */
const DEADLINE_CHECK_MASK = 0x3ff;

/**
 * The entries as linked lists over typed arrays, so lifting and unlifting are a few index writes and
 * nothing is allocated during the search. Nodes are numbered in time order, so comparing two node
 * numbers compares their times. The determinate calls and returns hang off MAIN_HEAD; the
 * indeterminate calls off indeterminateHead, the last node.
 */
class EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The operation index of each node. */
  readonly operation: Int32Array;
  /** For a determinate call, the node of its return; NO_RETURN for an indeterminate call; NOT_A_CALL otherwise. */
  readonly returnNode: Int32Array;
  readonly indeterminateHead: number;

  constructor(callTimes: readonly number[], returnTimes: readonly number[]) {
    const events = sortedEvents(callTimes, returnTimes);
    this.indeterminateHead = events.length + 1;
    const nodes = events.length + 2;
    this.next = new Int32Array(nodes).fill(NIL);
    this.prev = new Int32Array(nodes).fill(NIL);
    this.operation = new Int32Array(nodes).fill(-1);
    this.returnNode = new Int32Array(nodes).fill(NOT_A_CALL);
    const callNode = new Int32Array(callTimes.length);
    const tails = { main: MAIN_HEAD, indeterminate: this.indeterminateHead };
    events.forEach((event, i) => {
      const node = i + 1;
      const operation = event >> 1;
      this.operation[node] = operation;
      if (isReturnEvent(event)) {
        this.returnNode[callNode[operation]!] = node;
      } else {
        this.returnNode[node] = NO_RETURN;
        callNode[operation] = node;
      }
      const list = returnTimes[operation] === Infinity ? 'indeterminate' : 'main';
      this.append(tails[list], node);
      tails[list] = node;
    });
  }

  isCall(node: number): boolean {
    return this.returnNode[node] !== NOT_A_CALL;
  }

  isIndeterminate(call: number): boolean {
    return this.returnNode[call] === NO_RETURN;
  }

  /** The first return in the main list: the deadline of the walk. The main list is not empty when this is asked. */
  firstReturn(): number {
    let node = this.next[MAIN_HEAD]!;
    while (this.isCall(node)) node = this.next[node]!;
    return node;
  }

  /** Takes a call and its return out of their list; the nodes keep their links so unlift can restore them. */
  lift(call: number): void {
    this.unlink(call);
    if (!this.isIndeterminate(call)) this.unlink(this.returnNode[call]!);
  }

  /** Undoes lift, in the reverse order, so each node's neighbours are back in place when it is relinked. */
  unlift(call: number): void {
    if (!this.isIndeterminate(call)) this.relink(this.returnNode[call]!);
    this.relink(call);
  }

  private append(tail: number, node: number): void {
    this.next[tail] = node;
    this.prev[node] = tail;
  }

  private unlink(node: number): void {
    const { next, prev } = this;
    next[prev[node]!] = next[node]!;
    if (next[node] !== NIL) prev[next[node]!] = prev[node]!;
  }

  private relink(node: number): void {
    const { next, prev } = this;
    next[prev[node]!] = node;
    if (next[node] !== NIL) prev[next[node]!] = node;
  }
}

/**
 * Events encoded as operation * 2 (+ 1 for a return), in time order; indeterminate operations have no
 * return event. At equal times calls come before returns: intervals that merely touch count as
 * concurrent, because millisecond timestamps cannot order two events in the same millisecond and a
 * false alarm is worse than a missed one.
 */
function sortedEvents(callTimes: readonly number[], returnTimes: readonly number[]): number[] {
  const time = (event: number): number => (isReturnEvent(event) ? returnTimes[event >> 1]! : callTimes[event >> 1]!);
  const events: number[] = [];
  callTimes.forEach((_, operation) => {
    events.push(operation * 2);
    if (returnTimes[operation] !== Infinity) events.push(operation * 2 + 1);
  });
  return events.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
}

function isReturnEvent(event: number): boolean {
  return (event & 1) === 1;
}

/** A set of operations as a bitset, with a Zobrist hash (the XOR of a fixed random word per member) kept up to date on every toggle. */
class OperationSet {
  readonly words: Uint32Array;
  hash = 0;

  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  toggle(bit: number): void {
    this.words[bit >>> 5]! ^= 1 << (bit & 31);
    this.hash ^= mix32(bit + 1);
  }

  equals(words: Uint32Array): boolean {
    for (let i = 0; i < words.length; i++) if (words[i] !== this.words[i]) return false;
    return true;
  }

  /** Whether every member of words is in this set. */
  includes(words: Uint32Array): boolean {
    for (let i = 0; i < words.length; i++) if ((words[i]! & ~this.words[i]!) !== 0) return false;
    return true;
  }
}

/** Murmur3's finalizer: spreads small integers over 32 bits. */
function mix32(value: number): number {
  let h = value | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

interface FailedConfiguration {
  readonly determinate: Uint32Array;
  readonly indeterminate: Uint32Array;
  readonly state: number;
}

/** Configurations known to fail, bucketed by a hash of their state and determinate operations. */
class FailureCache {
  private readonly buckets = new Map<number, FailedConfiguration[]>();

  add(determinate: OperationSet, indeterminate: OperationSet, state: number): void {
    const failed = { determinate: determinate.words.slice(), indeterminate: indeterminate.words.slice(), state };
    const hash = bucketOf(determinate, state);
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) this.buckets.set(hash, [failed]);
    else bucket.push(failed);
  }

  /** Whether the configuration is one that failed or, with more indeterminate operations placed, dominated by one. */
  dooms(determinate: OperationSet, indeterminate: OperationSet, state: number): boolean {
    const bucket = this.buckets.get(bucketOf(determinate, state));
    if (bucket === undefined) return false;
    for (const failed of bucket) {
      if (failed.state === state && determinate.equals(failed.determinate) && indeterminate.includes(failed.indeterminate)) return true;
    }
    return false;
  }
}

function bucketOf(determinate: OperationSet, state: number): number {
  return determinate.hash ^ mix32(state ^ 0x5bd1e995);
}

/** One placed operation. Frames form a persistent stack, so remembering the longest prefix is one pointer. */
interface Frame {
  readonly call: number;
  readonly stateBefore: number;
  /** Placed without alternatives (see startOfWalk): undoing it undoes the choice before it too. */
  readonly forced: boolean;
  readonly parent: Frame | null;
  readonly depth: number;
}

class LinearizationSearch {
  private readonly list: EntryList;
  /** Each operation's bit in whichever of the two sets holds it. */
  private readonly bit: Int32Array;
  private readonly determinate: OperationSet;
  private readonly indeterminate: OperationSet;
  private readonly failures = new FailureCache();
  /** The call nodes of each class of interchangeable operations, in time order, and how many of them are placed. */
  private readonly classMembers: number[][] = [];
  private readonly placedInClass: Int32Array;
  private state: number;
  private top: Frame | null = null;
  private longest: Frame | null = null;

  constructor(private readonly problem: SearchProblem) {
    this.list = new EntryList(problem.callTimes, problem.returnTimes);
    const counts = { determinate: 0, indeterminate: 0 };
    this.bit = Int32Array.from(problem.returnTimes, (returnMs) => (returnMs === Infinity ? counts.indeterminate++ : counts.determinate++));
    this.determinate = new OperationSet(counts.determinate);
    this.indeterminate = new OperationSet(counts.indeterminate);
    this.state = problem.initialState;
    for (let node = this.list.next[this.list.indeterminateHead]!; node !== NIL; node = this.list.next[node]!) {
      const members = (this.classMembers[problem.interchangeable[this.list.operation[node]!]!] ??= []);
      members.push(node);
    }
    this.placedInClass = new Int32Array(this.classMembers.length);
  }

  run(): SearchOutcome {
    let node = this.startOfWalk();
    for (let iteration = 1; this.list.next[MAIN_HEAD] !== NIL; iteration++) {
      if ((iteration & DEADLINE_CHECK_MASK) === 0 && performance.now() > this.problem.deadline) return { kind: 'timed-out' };
      if (node !== NONE) {
        node = this.tryToLinearize(node);
      } else if (this.top !== null) {
        node = this.undoChoice();
      } else {
        return { kind: 'violation', longestPrefix: this.prefix(this.longest) };
      }
    }
    return { kind: 'linearizable' };
  }

  /** Places the call's operation next if it fits; returns the next candidate. */
  private tryToLinearize(call: number): number {
    return this.place(call, false) ? this.startOfWalk() : this.candidateAfter(call);
  }

  /**
   * Makes the forced moves, then returns the first candidate. A pending observer (a read, a cas that
   * failed) whose output fits the current state can be placed at once with no loss: in any
   * linearization of the rest it can be moved to the front, since it changes nothing the others see
   * and nothing pending had to finish before it was called (its call precedes every remaining return).
   * So it is placed with no alternatives to try, which spares the search the orders where a write jumps
   * ahead of it, where most dead ends come from. If the result is known to fail, so does this: NONE.
   */
  private startOfWalk(): number {
    const { list, problem } = this;
    let node = list.next[MAIN_HEAD]!;
    if (node === NIL) return NIL;
    while (list.isCall(node)) {
      const operation = list.operation[node]!;
      if (!problem.observers[operation] || problem.steps[operation]!(this.state) !== this.state) {
        node = list.next[node]!;
      } else {
        if (!this.place(node, true)) return NONE;
        node = list.next[MAIN_HEAD]!;
        if (node === NIL) return NIL;
      }
    }
    const first = list.next[MAIN_HEAD]!;
    return list.isCall(first) ? first : this.indeterminateFrom(list.next[list.indeterminateHead]!);
  }

  /** The walk's order: pending determinate calls in time order, then pending indeterminate calls invoked before the first return. */
  private candidateAfter(call: number): number {
    const { list } = this;
    if (list.isIndeterminate(call)) return this.indeterminateFrom(list.next[call]!);
    const next = list.next[call]!;
    return list.isCall(next) ? next : this.indeterminateFrom(list.next[list.indeterminateHead]!);
  }

  private indeterminateFrom(call: number): number {
    return call !== NIL && call < this.list.firstReturn() ? call : NONE;
  }

  /**
   * Linearizes the call's operation next, unless its output contradicts the state, the result is
   * known to fail, or the placement is redundant. An indeterminate operation that would change nothing
   * is not placed: taking effect last is the same.
   */
  private place(call: number, forced: boolean): boolean {
    const operation = this.list.operation[call]!;
    const after = this.problem.steps[operation]!(this.state);
    const indeterminate = this.list.isIndeterminate(call);
    if (after === ILLEGAL || !this.needsItsPredecessor(operation, after)) return false;
    if (indeterminate && (after === this.state || !this.isFirstOfItsClass(call))) return false;
    this.toggle(operation);
    if (this.failures.dooms(this.determinate, this.indeterminate, after)) {
      this.toggle(operation);
      return false;
    }
    this.top = { call, stateBefore: this.state, forced, parent: this.top, depth: (this.top?.depth ?? 0) + 1 };
    if (this.top.depth > (this.longest?.depth ?? 0)) this.longest = this.top;
    this.state = after;
    this.list.lift(call);
    if (indeterminate) this.placedInClass[this.problem.interchangeable[operation]!]++;
    return true;
  }

  /**
   * Interchangeable indeterminate operations are placed in call order: placing a later one first
   * would explore a copy of the same subtree, since every pending one can go wherever another can.
   */
  private isFirstOfItsClass(call: number): boolean {
    const interchangeable = this.problem.interchangeable[this.list.operation[call]!]!;
    return this.classMembers[interchangeable]![this.placedInClass[interchangeable]!] === call;
  }

  /**
   * An indeterminate operation placed anywhere but last must be needed by what follows it, else it
   * could as well take effect last. So the operation placed right after it must be one it enables
   * (illegal in the state before it) or one whose effect it changes (a write with a different outcome);
   * anything else, an observer that fits either way or a blind write that overwrites it, makes the
   * placement redundant: the same linearization without it is explored from the configuration before
   * it. Forced moves always pass: an observer legal before it would have been forced there already.
   */
  private needsItsPredecessor(operation: number, after: number): boolean {
    const previous = this.top;
    if (previous === null || !this.list.isIndeterminate(previous.call)) return true;
    const withoutPrevious = this.problem.steps[operation]!(previous.stateBefore);
    return withoutPrevious === ILLEGAL || (!this.problem.observers[operation] && withoutPrevious !== after);
  }

  /** Records the failed configurations and takes back placements up to the most recent free choice; returns the candidate after it. */
  private undoChoice(): number {
    while (this.top !== null) {
      const frame = this.top;
      // Right after an indeterminate placement, only the followers it enables were tried (see
      // needsItsPredecessor): that failure is not the configuration's, so it must not prune others.
      if (!this.list.isIndeterminate(frame.call)) this.failures.add(this.determinate, this.indeterminate, this.state);
      this.top = frame.parent;
      this.state = frame.stateBefore;
      this.toggle(this.list.operation[frame.call]!);
      this.list.unlift(frame.call);
      if (this.list.isIndeterminate(frame.call)) this.placedInClass[this.problem.interchangeable[this.list.operation[frame.call]!]!]--;
      if (!frame.forced) return this.candidateAfter(frame.call);
    }
    return NONE;
  }

  private toggle(operation: number): void {
    (this.problem.returnTimes[operation] === Infinity ? this.indeterminate : this.determinate).toggle(this.bit[operation]!);
  }

  private prefix(frame: Frame | null): number[] {
    const operations: number[] = [];
    for (let at = frame; at !== null; at = at.parent) operations.push(this.list.operation[at.call]!);
    return operations.reverse();
  }
}
