// The sequential specification of one key: a register holding a string or nothing. The search runs
// millions of steps and caches states, so a state is a small integer and each operation is compiled
// once into a step function over those integers.

import type { KvInput, KvOutput, Operation } from './linearizability.js';

/** The state of a key that holds no value. */
export const ABSENT = 0;
/**
 * The state of a key holding a value no operation ever looks at (no read returns it, no cas expects or
 * reports it). All such values behave alike in every step, so they share one state: the search then
 * sees as equal the configurations that differ only in which unseen value was written last.
 */
export const UNSEEN = 1;
/** What a step returns when the recorded output contradicts the state it is applied to. */
export const ILLEGAL = -1;

/** Applies one operation, with its recorded output, to a state: the next state, or ILLEGAL. */
export type Step = (state: number) => number;

export interface CompiledHistory {
  readonly steps: Step[];
  /** Whether each operation can never change the state: wherever it is legal it leaves the state as it found it. */
  readonly observers: boolean[];
  /**
   * For an indeterminate operation, a class shared by the indeterminate operations whose steps are the
   * same (all deletes, all puts of unseen values, ...): they are interchangeable, so the search tries
   * one per class. -1 for a determinate operation.
   */
  readonly interchangeable: number[];
  readonly initialState: number;
}

export function compileKeyHistory(operations: readonly Operation[], initialValue: string | null): CompiledHistory {
  const values = new ValueIds(seenValues(operations));
  const classes = new Map<string, number>();
  const classOf = (operation: Operation): number => {
    if (operation.output !== null) return -1;
    const key = effectKey(operation.input, values);
    if (!classes.has(key)) classes.set(key, classes.size);
    return classes.get(key)!;
  };
  return {
    steps: operations.map((operation) => stepFor(operation.input, operation.output, values)),
    observers: operations.map((operation) => isObserver(operation.input, operation.output)),
    interchangeable: operations.map(classOf),
    initialState: values.id(initialValue),
  };
}

/** Values some operation looks at: read, expected by a cas, or reported by a failed one. */
function seenValues(operations: readonly Operation[]): Set<string> {
  const seen = new Set<string>();
  const see = (value: string | null | undefined): void => {
    if (typeof value === 'string') seen.add(value);
  };
  for (const { input, output } of operations) {
    if (input.kind === 'cas') see(input.expected);
    if (output?.kind === 'get') see(output.value);
    if (output?.kind === 'cas') see(output.current);
  }
  return seen;
}

/** Interns values: equal strings get equal ids, so states compare and hash as numbers. */
class ValueIds {
  private readonly ids = new Map<string, number>();

  constructor(private readonly seen: Set<string>) {}

  id(value: string | null): number {
    if (value === null) return ABSENT;
    if (!this.seen.has(value)) return UNSEEN;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.ids.size + 2;
      this.ids.set(value, id);
    }
    return id;
  }
}

/** What an indeterminate operation does, as a string equal for operations whose steps are equal. */
function effectKey(input: KvInput, values: ValueIds): string {
  switch (input.kind) {
    case 'put':
      return `put ${values.id(input.value)}`;
    case 'get':
    case 'delete':
      return input.kind;
    case 'cas':
      return `cas ${values.id(input.expected)} ${values.id(input.value)}`;
  }
}

function isObserver(input: KvInput, output: KvOutput | null): boolean {
  // An indeterminate cas is no observer, even where it would fail: placed elsewhere it may succeed.
  if (output === null) return input.kind === 'get';
  if (output.kind === 'get') return true;
  if (output.kind === 'delete') return output.deleted === 0;
  if (output.kind === 'cas') return !output.succeeded || (input.kind === 'cas' && input.expected === input.value);
  return false;
}

/**
 * Compiles an operation into its step. A null output (indeterminate) matches whatever the state
 * says: the write takes effect as the state dictates at its linearization point.
 */
function stepFor(input: KvInput, output: KvOutput | null, values: ValueIds): Step {
  switch (input.kind) {
    case 'put':
      return putStep(values.id(input.value));
    case 'get':
      return getStep(output?.kind === 'get' ? values.id(output.value) : null);
    case 'delete':
      return deleteStep(output?.kind === 'delete' ? output.deleted : null);
    case 'cas':
      return casStep(values.id(input.expected), values.id(input.value), output?.kind === 'cas' ? output : null, values);
  }
}

function putStep(value: number): Step {
  return () => value;
}

/** A null expectation (only for an indeterminate get, which callers drop anyway) observes nothing. */
function getStep(seen: number | null): Step {
  if (seen === null) return (state) => state;
  return (state) => (state === seen ? state : ILLEGAL);
}

/** etcd's deleted count for one key: 1 if it held a value, else 0; any other count is never legal. */
function deleteStep(deleted: number | null): Step {
  if (deleted === null) return () => ABSENT;
  return (state) => ((state === ABSENT ? 0 : 1) === deleted ? ABSENT : ILLEGAL);
}

function casStep(expected: number, value: number, output: { succeeded: boolean; current?: string | null } | null, values: ValueIds): Step {
  // An indeterminate cas is decided by the state at its linearization point; a failed one changed nothing.
  if (output === null) return (state) => (state === expected ? value : state);
  if (output.succeeded) return (state) => (state === expected ? value : ILLEGAL);
  if (output.current === undefined) return (state) => (state !== expected ? state : ILLEGAL);
  const current = values.id(output.current);
  return (state) => (state !== expected && state === current ? state : ILLEGAL);
}
