// A linearizability checker for key-value histories, in the manner of Porcupine. Keys are independent
// registers, so the history is split per key (P-compositionality: a history is linearizable iff each
// key's sub-history is) and each key is searched on its own; see search.ts for the search itself.
// Pure and dependency-free: the fault-injection suite records, this judges.
//
// Indeterminate operations (timed out, connection lost) may or may not have taken effect, at any time
// after their call. An indeterminate read constrains nothing, so it is dropped. An indeterminate write
// returns at +infinity with whatever output the model gives it: it can be placed anywhere after its
// call, and placing it last is always possible, which is the same as it never having happened.

import { compileKeyHistory } from './kv-model.js';
import { searchLinearization } from './search.js';

export type KvInput =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  | { kind: 'delete'; key: string }
  /** Puts value iff the current value is expected (null = absent). */
  | { kind: 'cas'; key: string; expected: string | null; value: string };

export type KvOutput =
  | { kind: 'put' }
  | { kind: 'get'; value: string | null }
  /** 1 if the key existed, else 0. */
  | { kind: 'delete'; deleted: number }
  /** On failure, optionally the value seen (null = absent). */
  | { kind: 'cas'; succeeded: boolean; current?: string | null };

export interface Operation {
  id: number;
  clientId: number;
  input: KvInput;
  /** Invocation time. */
  callMs: number;
  /** Completion time; null = indeterminate: it may or may not have taken effect, at any time after callMs. */
  returnMs: number | null;
  /** Null iff indeterminate. */
  output: KvOutput | null;
}

export interface CheckOptions {
  /** Default 60 s, for the whole history. */
  timeoutMs?: number;
  /** Each key's value before the history; a key not in the map starts absent. */
  initial?: Map<string, string | null>;
}

export interface Failure {
  key: string;
  /**
   * Which key, and why: either an operation saw a value no write could have produced yet, or the
   * longest linearizable prefix found, the key's value after it, and the operations that could not be
   * placed next.
   */
  message: string;
  /** The operations the message names, in its order. */
  operations: Operation[];
}

/**
 * keysChecked: keys whose search finished. timedOut: the deadline passed before every key was
 * searched; the keys are searched in sorted order and those after the one that ran out of time are
 * not searched at all. ok: no finished key failed; so with timedOut, ok: true proves nothing about
 * the keys left unchecked.
 */
export interface CheckResult {
  ok: boolean;
  timedOut: boolean;
  keysChecked: number;
  failures: Failure[];
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** How much of the prefix a failure shows: the operations just before the trouble are what explain it. */
const PREFIX_TAIL_SHOWN = 10;
/** Timed-out writes stay pending to the end, so a long run piles them up; a failure shows the latest. */
const PENDING_INDETERMINATE_SHOWN = 10;

/** Throws on a malformed operation (a recorder bug, not a finding): output kind or indeterminacy inconsistent. */
export function checkLinearizable(history: Operation[], options: CheckOptions = {}): CheckResult {
  for (const operation of history) validate(operation);
  const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const result: CheckResult = { ok: true, timedOut: false, keysChecked: 0, failures: [] };
  for (const [key, operations] of partitionByKey(history)) {
    const outcome = checkKey(key, operations, options.initial?.get(key) ?? null, deadline);
    if (outcome === 'timed-out') {
      result.timedOut = true;
      break;
    }
    result.keysChecked++;
    if (outcome !== 'linearizable') result.failures.push(outcome);
  }
  result.ok = result.failures.length === 0;
  return result;
}

function validate(operation: Operation): void {
  const { id, input, output, callMs, returnMs } = operation;
  if ((returnMs === null) !== (output === null)) throw new TypeError(`operation ${id}: returnMs and output must both be null (indeterminate) or neither`);
  if (output !== null && output.kind !== input.kind) throw new TypeError(`operation ${id}: a ${input.kind} cannot have a ${output.kind} output`);
  if (!Number.isFinite(callMs) || (returnMs !== null && !(returnMs >= callMs))) throw new RangeError(`operation ${id}: bad times ${callMs} → ${returnMs}`);
}

/** Each key's operations in history order, keys sorted; indeterminate reads are dropped here. */
function partitionByKey(history: Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const operation of history) {
    if (operation.input.kind === 'get' && operation.output === null) continue;
    const operations = byKey.get(operation.input.key);
    if (operations === undefined) byKey.set(operation.input.key, [operation]);
    else operations.push(operation);
  }
  return new Map([...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkKey(key: string, operations: Operation[], initialValue: string | null, deadline: number): 'linearizable' | 'timed-out' | Failure {
  const impossible = impossibleObservation(key, operations, initialValue);
  if (impossible !== null) return impossible;
  const outcome = searchLinearization({
    ...compileKeyHistory(operations, initialValue),
    callTimes: operations.map((operation) => operation.callMs),
    returnTimes: operations.map((operation) => operation.returnMs ?? Infinity),
    deadline,
  });
  if (outcome.kind !== 'violation') return outcome.kind;
  const prefix = outcome.longestPrefix.map((index) => operations[index]!);
  // Indeterminate operations at its end were placed on speculation, for something after that never fit.
  while (prefix.length > 0 && prefix[prefix.length - 1]!.returnMs === null) prefix.pop();
  return describeViolation(key, operations, prefix, prefix.reduce(applyToValue, initialValue));
}

/**
 * A cheap check before the search, which would have to exhaust every order up to the culprit to find
 * it: an operation that saw a value no write of this key could have produced by the time it returned.
 */
function impossibleObservation(key: string, operations: Operation[], initialValue: string | null): Failure | null {
  const writesOf = new Map<string, Operation[]>();
  for (const operation of operations) {
    const written = writtenValue(operation);
    if (written === null) continue;
    const writes = writesOf.get(written);
    if (writes === undefined) writesOf.set(written, [operation]);
    else writes.push(operation);
  }
  for (const operation of operations) {
    const seen = seenValue(operation);
    if (seen === null || seen === initialValue) continue;
    const writes = writesOf.get(seen) ?? [];
    if (writes.some((write) => write.callMs <= operation.returnMs!)) continue;
    const why = writes.length === 0 ? 'no operation wrote it to this key' : 'every write of it was invoked after that';
    const lines = [
      `key ${JSON.stringify(key)} is not linearizable: this operation saw ${describeValue(seen)}, but ${why}:`,
      `  ${describeOperation(operation)}`,
      ...writes.map((write) => `  ${describeOperation(write)}`),
    ];
    return { key, message: lines.join('\n'), operations: [operation, ...writes] };
  }
  return null;
}

/** The value a determinate operation reports the key held, if it reports one. */
function seenValue({ input, output }: Operation): string | null {
  if (output?.kind === 'get') return output.value;
  if (output?.kind === 'cas' && input.kind === 'cas') return output.succeeded ? input.expected : (output.current ?? null);
  return null;
}

/** The value an operation may have written: a put's, a cas's unless it is known to have failed. */
function writtenValue({ input, output }: Operation): string | null {
  if (input.kind === 'put') return input.value;
  if (input.kind === 'cas' && !(output?.kind === 'cas' && !output.succeeded)) return input.value;
  return null;
}

/** The sequential store's step, for the message's value after the prefix; outputs in the prefix are known to fit. */
function applyToValue(value: string | null, { input, output }: Operation): string | null {
  switch (input.kind) {
    case 'put':
      return input.value;
    case 'get':
      return value;
    case 'delete':
      return null;
    case 'cas':
      if (output?.kind === 'cas') return output.succeeded ? input.value : value;
      return value === input.expected ? input.value : value;
  }
}

function describeViolation(key: string, operations: Operation[], prefix: Operation[], valueAfter: string | null): Failure {
  const tail = prefix.slice(-PREFIX_TAIL_SHOWN);
  const { stuck, olderIndeterminate } = stuckOperations(operations, new Set(prefix));
  const hidden = prefix.length - tail.length;
  const lines = [
    `key ${JSON.stringify(key)} is not linearizable: no order of its ${operations.length} operations is legal for a single register.`,
    `The longest linearizable prefix found has ${prefix.length} operations${hidden > 0 ? `, ending (${hidden} earlier not shown)` : ''}:`,
    ...(tail.length === 0 ? ['  (none)'] : tail.map((operation) => `  ${describeOperation(operation)}`)),
    `after which the key is ${describeValue(valueAfter)}; none of these could be placed next (the first must take effect by ${stuck[0]!.returnMs} ms):`,
    ...stuck.map((operation) => `  ${describeOperation(operation)}`),
    ...(olderIndeterminate > 0 ? [`  (and ${olderIndeterminate} older indeterminate operations, also unplaced)`] : []),
  ];
  return { key, message: lines.join('\n'), operations: [...tail, ...stuck] };
}

/**
 * After the prefix: the unplaced determinate operation that must complete first, then the other
 * unplaced operations invoked by then, which the search tried next and could not fit: determinate
 * ones in call order, then the latest indeterminate ones.
 */
function stuckOperations(operations: Operation[], placed: Set<Operation>): { stuck: Operation[]; olderIndeterminate: number } {
  const unplaced = operations.filter((operation) => !placed.has(operation));
  // A violation leaves some determinate operation unplaced: the indeterminate ones alone always fit, last.
  const determinate = unplaced.filter((operation) => operation.returnMs !== null);
  const first = determinate.reduce((best, operation) => (operation.returnMs! < best.returnMs! ? operation : best));
  const invokedByThen = (operation: Operation): boolean => operation !== first && operation.callMs <= first.returnMs!;
  const concurrent = determinate.filter(invokedByThen).sort((a, b) => a.callMs - b.callMs);
  const indeterminate = unplaced.filter((operation) => operation.returnMs === null && invokedByThen(operation)).sort((a, b) => a.callMs - b.callMs);
  const latest = indeterminate.slice(-PENDING_INDETERMINATE_SHOWN);
  return { stuck: [first, ...concurrent, ...latest], olderIndeterminate: indeterminate.length - latest.length };
}

function describeOperation(operation: Operation): string {
  const returned = operation.returnMs === null ? 'indeterminate' : `returned ${operation.returnMs} ms`;
  const timing = `called ${operation.callMs} ms, ${returned}`;
  return `#${operation.id} client ${operation.clientId} ${describeInput(operation.input)} (${timing}) → ${describeOutput(operation.output)}`;
}

function describeInput(input: KvInput): string {
  switch (input.kind) {
    case 'put':
      return `put ${describeValue(input.value)}`;
    case 'get':
    case 'delete':
      return input.kind;
    case 'cas':
      return `cas ${describeValue(input.expected)} → ${describeValue(input.value)}`;
  }
}

function describeOutput(output: KvOutput | null): string {
  if (output === null) return 'unknown';
  switch (output.kind) {
    case 'put':
      return 'ok';
    case 'get':
      return describeValue(output.value);
    case 'delete':
      return `deleted ${output.deleted}`;
    case 'cas':
      if (output.succeeded) return 'succeeded';
      return output.current === undefined ? 'failed' : `failed, saw ${describeValue(output.current)}`;
  }
}

function describeValue(value: string | null): string {
  return value === null ? 'absent' : JSON.stringify(value);
}
