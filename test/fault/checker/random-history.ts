// Random histories that are linearizable by construction, for the checker's own tests: clients issue
// operations with random overlapping intervals, each operation takes effect at a random instant inside
// its interval, and a real sequential store applied in the order of those instants decides the outputs.

import type { KvInput, KvOutput, Operation } from './linearizability.js';

export interface RandomHistoryOptions {
  seed: number;
  operations: number;
  keys: number;
  clients: number;
  minDurationMs: number;
  maxDurationMs: number;
  /** The share of operations that time out; half of the timed-out writes take effect anyway, possibly after the client moved on. */
  indeterminateRate: number;
}

/** How long a client waits for an indeterminate operation before it issues its next one. */
const CLIENT_TIMEOUT_MS = 100;
/** How late after its call a timed-out write may still take effect. */
const LATE_EFFECT_MS = 300;

interface Planned {
  operation: Operation;
  /** When it takes effect; null if it never does. */
  effectMs: number | null;
}

export function randomHistory(options: RandomHistoryOptions): Operation[] {
  const random = mulberry32(options.seed);
  const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const clocks = Array.from({ length: options.clients }, () => between(0, 10));
  const planned: Planned[] = [];
  for (let id = 0; id < options.operations; id++) {
    const clientId = clocks.indexOf(Math.min(...clocks));
    const callMs = clocks[clientId]! + between(0, 5);
    const input = randomInput(`k${between(0, options.keys - 1)}`, `v${id}`, random);
    if (random() < options.indeterminateRate) {
      const effectMs = input.kind !== 'get' && random() < 0.5 ? callMs + between(0, LATE_EFFECT_MS) : null;
      planned.push({ operation: { id, clientId, input, callMs, returnMs: null, output: null }, effectMs });
      clocks[clientId] = callMs + CLIENT_TIMEOUT_MS;
    } else {
      const returnMs = callMs + between(options.minDurationMs, options.maxDurationMs);
      planned.push({ operation: { id, clientId, input, callMs, returnMs, output: null }, effectMs: between(callMs, returnMs) });
      clocks[clientId] = returnMs;
    }
  }
  applyInEffectOrder(planned, random);
  return planned.map((plan) => plan.operation);
}

function randomInput(key: string, value: string, random: () => number): KvInput {
  const roll = random();
  if (roll < 0.35) return { kind: 'put', key, value };
  if (roll < 0.75) return { kind: 'get', key };
  if (roll < 0.9) return { kind: 'cas', key, expected: null, value };
  return { kind: 'delete', key };
}

/** Runs the sequential store; a cas's expectation is chosen at its effect so that about half succeed. */
function applyInEffectOrder(planned: Planned[], random: () => number): void {
  const store = new Map<string, string>();
  const written = new Map<string, string[]>();
  const effective = planned.filter((plan) => plan.effectMs !== null).sort((a, b) => a.effectMs! - b.effectMs! || a.operation.id - b.operation.id);
  for (const { operation } of effective) {
    const { input } = operation;
    const current = store.get(input.key) ?? null;
    if (input.kind === 'cas') input.expected = random() < 0.5 ? current : pickOld(written.get(input.key) ?? [], random);
    const output = applySequentially(store, input);
    const after = store.get(input.key);
    if (after !== undefined && after !== current) {
      const values = written.get(input.key);
      if (values === undefined) written.set(input.key, [after]);
      else values.push(after);
    }
    if (operation.returnMs !== null) operation.output = output;
  }
}

function pickOld(values: string[], random: () => number): string | null {
  const index = Math.floor(random() * (values.length + 1));
  return index === values.length ? null : values[index]!;
}

/** Applies one operation to a sequential store: what a linearizable history must agree with. */
export function applySequentially(store: Map<string, string>, input: KvInput): KvOutput {
  const current = store.get(input.key) ?? null;
  switch (input.kind) {
    case 'put':
      store.set(input.key, input.value);
      return { kind: 'put' };
    case 'get':
      return { kind: 'get', value: current };
    case 'delete':
      store.delete(input.key);
      return { kind: 'delete', deleted: current === null ? 0 : 1 };
    case 'cas':
      if (current !== input.expected) return { kind: 'cas', succeeded: false, current };
      store.set(input.key, input.value);
      return { kind: 'cas', succeeded: true };
  }
}

/** A small seeded PRNG (mulberry32), as the chaos suite's. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Makes one determinate read, past the middle of the history, return a value that was certainly
 * overwritten before it began: written by a put that completed before an overwrite (a put or delete)
 * that completed before the read was invoked. Values are unique, so no linearization can explain it.
 */
export function makeOneReadStale(history: Operation[]): Operation {
  const done = history.filter((operation) => operation.returnMs !== null);
  const isBlindWrite = (operation: Operation): boolean => operation.input.kind === 'put' || operation.input.kind === 'delete';
  for (const read of done.slice(Math.floor(done.length / 2))) {
    if (read.input.kind !== 'get') continue;
    const sameKey = done.filter((operation) => operation.input.key === read.input.key);
    const overwrite = sameKey.filter((operation) => isBlindWrite(operation) && operation.returnMs! < read.callMs).pop();
    const overwritten = overwrite && sameKey.filter((operation) => operation.input.kind === 'put' && operation.returnMs! < overwrite.callMs).pop();
    if (overwritten === undefined || overwritten.input.kind !== 'put') continue;
    read.output = { kind: 'get', value: overwritten.input.value };
    return read;
  }
  throw new Error('no read to make stale');
}
