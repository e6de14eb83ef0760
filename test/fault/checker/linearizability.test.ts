import { describe, expect, it } from 'vitest';
import { type CheckOptions, type KvInput, type KvOutput, type Operation, checkLinearizable } from './linearizability.js';
import { applySequentially, makeOneReadStale, mulberry32, randomHistory } from './random-history.js';

let nextId = 0;

function operation(clientId: number, input: KvInput, callMs: number, returnMs: number | null, output: KvOutput | null): Operation {
  return { id: nextId++, clientId, input, callMs, returnMs, output };
}

/** returnMs null: indeterminate. */
const put = (client: number, key: string, value: string, callMs: number, returnMs: number | null): Operation =>
  operation(client, { kind: 'put', key, value }, callMs, returnMs, returnMs === null ? null : { kind: 'put' });
const get = (client: number, key: string, value: string | null, callMs: number, returnMs: number): Operation =>
  operation(client, { kind: 'get', key }, callMs, returnMs, { kind: 'get', value });
/** deleted null: indeterminate. */
const del = (client: number, key: string, deleted: number | null, callMs: number, returnMs: number | null): Operation =>
  operation(client, { kind: 'delete', key }, callMs, returnMs, deleted === null ? null : { kind: 'delete', deleted });

/** succeeded null: indeterminate; current: what a failed cas reports, if anything. */
function cas(
  client: number,
  key: string,
  expected: string | null,
  value: string,
  succeeded: boolean | null,
  callMs: number,
  returnMs: number | null,
  current?: string | null,
): Operation {
  const output: KvOutput | null = succeeded === null ? null : { kind: 'cas', succeeded, ...(current === undefined ? {} : { current }) };
  return operation(client, { kind: 'cas', key, expected, value }, callMs, returnMs, output);
}

function expectLinearizable(history: Operation[], options?: CheckOptions): void {
  const result = checkLinearizable(history, options);
  expect(result.failures.map((failure) => failure.message)).toEqual([]);
  expect(result).toMatchObject({ ok: true, timedOut: false });
}

function expectViolation(history: Operation[], key = 'k', options?: CheckOptions): string {
  const result = checkLinearizable(history, options);
  expect(result.ok).toBe(false);
  expect(result.timedOut).toBe(false);
  expect(result.failures.map((failure) => failure.key)).toEqual([key]);
  expect(result.failures[0]!.message).toContain(`key "${key}"`);
  return result.failures[0]!.message;
}

describe('sequential histories', () => {
  it('accepts every kind of operation applied in turn', () => {
    expectLinearizable([
      get(1, 'k', null, 0, 1),
      del(1, 'k', 0, 2, 3),
      put(1, 'k', 'a', 4, 5),
      get(2, 'k', 'a', 6, 7),
      cas(2, 'k', 'a', 'b', true, 8, 9),
      cas(1, 'k', 'a', 'c', false, 10, 11, 'b'),
      cas(1, 'k', null, 'c', false, 12, 13),
      get(1, 'k', 'b', 14, 15),
      del(2, 'k', 1, 16, 17),
      cas(1, 'k', null, 'd', true, 18, 19),
      get(2, 'k', 'd', 20, 21),
    ]);
  });

  it('starts each key from its initial value', () => {
    expectLinearizable([get(1, 'k', 'x', 0, 1), del(1, 'k', 1, 2, 3)], { initial: new Map([['k', 'x']]) });
    expectViolation([get(1, 'k', null, 0, 1)], 'k', { initial: new Map([['k', 'x']]) });
  });

  it('rejects a read that returns something other than the last write', () => {
    expectViolation([put(1, 'k', 'a', 0, 1), put(1, 'k', 'b', 2, 3), get(1, 'k', 'a', 4, 5)]);
    expectViolation([put(1, 'k', 'a', 0, 1), del(1, 'k', 1, 2, 3), get(1, 'k', 'a', 4, 5)]);
  });

  it('accepts an empty history', () => {
    expect(checkLinearizable([])).toEqual({ ok: true, timedOut: false, keysChecked: 0, failures: [] });
  });
});

describe('concurrent histories', () => {
  it('accepts concurrent writes whose reads fit only one order of them', () => {
    // a and b overlap; the read inside them sees a and the one after both sees b: a, then b.
    expectLinearizable([put(1, 'k', 'a', 0, 100), put(2, 'k', 'b', 0, 100), get(3, 'k', 'a', 10, 20), get(3, 'k', 'b', 110, 120)]);
  });

  it('rejects reads after both concurrent writes that disagree on which came last', () => {
    expectViolation([put(1, 'k', 'a', 0, 100), put(2, 'k', 'b', 0, 100), get(3, 'k', 'b', 110, 120), get(4, 'k', 'a', 130, 140)]);
  });

  it('rejects a stale read: the write it missed completed before it began', () => {
    expectViolation([put(1, 'k', 'a', 0, 10), put(2, 'k', 'b', 20, 30), get(3, 'k', 'a', 40, 50)]);
  });

  it('accepts the same read when it overlaps the newer write', () => {
    expectLinearizable([put(1, 'k', 'a', 0, 10), put(2, 'k', 'b', 20, 45), get(3, 'k', 'a', 40, 50), get(3, 'k', 'b', 60, 70)]);
  });

  it('rejects a read of a value never written', () => {
    const message = expectViolation([put(1, 'k', 'a', 0, 10), get(2, 'k', 'zzz', 5, 15)]);
    expect(message).toContain('no operation wrote it');
  });

  it('rejects two readers that see concurrent writes in opposite orders', () => {
    expectViolation([
      put(1, 'k', 'a', 0, 100),
      put(2, 'k', 'b', 0, 100),
      get(3, 'k', 'a', 10, 20),
      get(3, 'k', 'b', 30, 40),
      get(4, 'k', 'b', 10, 20),
      get(4, 'k', 'a', 30, 40),
    ]);
  });

  it('accepts two readers that see concurrent writes in the same order', () => {
    expectLinearizable([
      put(1, 'k', 'a', 0, 100),
      put(2, 'k', 'b', 0, 100),
      get(3, 'k', 'a', 10, 20),
      get(3, 'k', 'b', 30, 40),
      get(4, 'k', 'a', 10, 20),
      get(4, 'k', 'b', 30, 40),
    ]);
  });

  it('rejects a cas that succeeded against a value already overwritten', () => {
    expectViolation([put(1, 'k', 'a', 0, 10), put(2, 'k', 'b', 20, 30), cas(3, 'k', 'a', 'c', true, 40, 50)]);
  });

  it('accepts that cas when it overlaps the overwrite, which then comes after it', () => {
    expectLinearizable([put(1, 'k', 'a', 0, 10), put(2, 'k', 'b', 20, 45), cas(3, 'k', 'a', 'c', true, 40, 50), get(1, 'k', 'b', 60, 70)]);
  });

  it('rejects a failed cas whose expected value was current, or that reports a value not current', () => {
    expectViolation([put(1, 'k', 'a', 0, 10), cas(2, 'k', 'a', 'c', false, 20, 30)]);
    expectViolation([put(1, 'k', 'a', 0, 10), put(1, 'k', 'b', 11, 12), cas(2, 'k', 'x', 'c', false, 20, 30, 'a')]);
    expectViolation([put(1, 'k', 'a', 0, 10), cas(2, 'k', 'x', 'c', false, 20, 30, null)]);
  });

  it('rejects a wrong delete count, either way', () => {
    expectViolation([put(1, 'k', 'a', 0, 10), del(2, 'k', 0, 20, 30)]);
    expectViolation([del(2, 'k', 1, 20, 30)]);
    expectViolation([put(1, 'k', 'a', 0, 10), del(2, 'k', 1, 20, 30), del(3, 'k', 1, 40, 50)]);
    expectViolation([put(1, 'k', 'a', 0, 10), del(2, 'k', 2, 20, 30)]);
  });

  it('accepts two concurrent deletes of a present key that count it once between them', () => {
    expectLinearizable([put(1, 'k', 'a', 0, 10), del(2, 'k', 1, 20, 30), del(3, 'k', 0, 20, 30)]);
  });

  it('treats intervals that only touch as concurrent: millisecond clocks cannot order them', () => {
    expectLinearizable([put(1, 'k', 'a', 0, 10), put(2, 'k', 'b', 10, 20), get(3, 'k', 'a', 20, 30)]);
    expectViolation([put(1, 'k', 'a', 0, 10), put(2, 'k', 'b', 11, 20), get(3, 'k', 'a', 21, 30)]);
  });
});

describe('indeterminate operations', () => {
  it('accepts an indeterminate write that took effect, even after its client gave up', () => {
    expectLinearizable([put(1, 'k', 'a', 0, null), get(2, 'k', null, 10, 20), get(2, 'k', 'a', 500, 510), get(3, 'k', 'a', 600, 610)]);
    expectLinearizable([put(1, 'k', 'a', 0, 10), del(1, 'k', null, 20, null), get(2, 'k', null, 30, 40)]);
    expectLinearizable([put(1, 'k', 'a', 0, 10), cas(1, 'k', 'a', 'b', null, 20, null), get(2, 'k', 'b', 30, 40)]);
  });

  it('accepts an indeterminate write that never took effect', () => {
    expectLinearizable([put(1, 'k', 'a', 0, null), get(2, 'k', null, 10, 20), get(2, 'k', null, 500, 510)]);
    expectLinearizable([put(1, 'k', 'a', 0, 10), del(1, 'k', null, 20, null), get(2, 'k', 'a', 30, 40), get(2, 'k', 'a', 900, 910)]);
    expectLinearizable([put(1, 'k', 'a', 0, 10), cas(1, 'k', 'a', 'b', null, 20, null), get(2, 'k', 'a', 30, 40)]);
  });

  it('accepts an indeterminate write seen, then overwritten, then never seen again', () => {
    expectLinearizable([put(1, 'k', 'a', 0, null), get(2, 'k', 'a', 10, 20), put(2, 'k', 'b', 30, 40), get(3, 'k', 'b', 50, 60)]);
  });

  it('keeps an indeterminate write for where it is needed, rather than spending it where it first fits', () => {
    // The delete can be explained by the cas or by the put; only the put leaves the cas for the read of d.
    expectLinearizable([put(1, 'k', 'b', 5, null), cas(2, 'k', null, 'd', null, 4, null), del(3, 'k', 1, 5, 8), get(4, 'k', 'd', 9, 11)]);
  });

  it('rejects an indeterminate write seen by a read that finished before it was invoked', () => {
    const message = expectViolation([get(2, 'k', 'a', 0, 50), put(1, 'k', 'a', 100, null)]);
    expect(message).toContain('every write of it was invoked after that');
    // The same through the search: an indeterminate delete that a read of the absent key saw too early.
    expectViolation([get(2, 'k', null, 0, 50), del(1, 'k', null, 100, null)], 'k', { initial: new Map([['k', 'x']]) });
  });

  it('rejects an indeterminate write that is seen to take effect twice', () => {
    expectViolation([put(1, 'k', 'a', 0, null), get(2, 'k', 'a', 10, 20), put(2, 'k', 'b', 30, 40), get(3, 'k', 'a', 50, 60)]);
  });

  it('drops indeterminate reads, which constrain nothing', () => {
    const lostRead = operation(1, { kind: 'get', key: 'k' }, 0, null, null);
    expect(checkLinearizable([lostRead, put(2, 'k', 'a', 0, 10)])).toEqual({ ok: true, timedOut: false, keysChecked: 1, failures: [] });
  });

  it('rejects a malformed operation rather than judging it', () => {
    expect(() => checkLinearizable([operation(1, { kind: 'get', key: 'k' }, 0, 10, null)])).toThrow(TypeError);
    expect(() => checkLinearizable([operation(1, { kind: 'get', key: 'k' }, 0, 10, { kind: 'put' })])).toThrow(TypeError);
    expect(() => checkLinearizable([get(1, 'k', null, 10, 5)])).toThrow(RangeError);
  });
});

describe('several keys', () => {
  it('checks each key on its own and names the only bad one', () => {
    const history = [
      put(1, 'a', 'x', 0, 10),
      put(2, 'b', 'x', 0, 10),
      put(3, 'c', 'x', 0, 10),
      put(1, 'b', 'y', 20, 30),
      get(2, 'a', 'x', 40, 50),
      get(3, 'b', 'x', 40, 50),
      get(1, 'c', 'x', 40, 50),
    ];
    const result = checkLinearizable(history);
    expect(result).toMatchObject({ ok: false, timedOut: false, keysChecked: 3 });
    expect(result.failures.map((failure) => failure.key)).toEqual(['b']);
    expect(result.failures[0]!.message).toContain('key "b"');
  });

  it('explains a failure: the longest linearizable prefix, the value after it and what could not be placed', () => {
    const history = [put(1, 'k', 'a', 0, 10), put(2, 'k', 'b', 20, 30), get(3, 'k', 'a', 40, 50)];
    const [failure] = checkLinearizable(history).failures;
    const lines = failure!.message.split('\n');
    expect(lines[0]).toContain('key "k" is not linearizable');
    expect(lines[1]).toContain('longest linearizable prefix found has 2 operations');
    expect(lines[2]).toBe(`  #${history[0]!.id} client 1 put "a" (called 0 ms, returned 10 ms) → ok`);
    expect(lines[3]).toBe(`  #${history[1]!.id} client 2 put "b" (called 20 ms, returned 30 ms) → ok`);
    expect(lines[4]).toContain('the key is "b"');
    expect(lines[4]).toContain('by 50 ms');
    expect(lines[5]).toBe(`  #${history[2]!.id} client 3 get (called 40 ms, returned 50 ms) → "a"`);
    expect(failure!.operations).toEqual(history);
  });
});

/** Far above what these searches take (about a second each), far below the minutes of a search gone exponential. */
const SEARCH_TIMEOUT_MS = 20_000;

describe('random histories', () => {
  const large = { operations: 20_000, keys: 30, clients: 10, minDurationMs: 1, maxDurationMs: 50, indeterminateRate: 0.01 };

  // The search takes about a second here; one without its pruning runs for minutes. The checker's
  // own timeout tells them apart (timedOut), with room for a machine many times slower: no clock here.
  it('accepts 20,000 operations on 30 keys from 10 clients, generated by a real sequential store, without timing out', () => {
    const history = randomHistory({ seed: 1, ...large });
    const result = checkLinearizable(history, { timeoutMs: SEARCH_TIMEOUT_MS });
    expect(result).toEqual({ ok: true, timedOut: false, keysChecked: 30, failures: [] });
  });

  it('rejects the same history once one read is made stale, and names its key', () => {
    const history = randomHistory({ seed: 1, ...large });
    const stale = makeOneReadStale(history);
    const result = checkLinearizable(history);
    expect(result).toMatchObject({ ok: false, timedOut: false, keysChecked: 30 });
    expect(result.failures.map((failure) => failure.key)).toEqual([stale.input.key]);
    expect(result.failures[0]!.operations).toContain(stale);
  });

  it('copes with a tenth of the operations timed out on 8 keys: accepts, then rejects one stale read, neither near the timeout', () => {
    // Without the pruning of redundant indeterminate placements these searches run for minutes.
    for (const seed of [1, 3]) {
      const history = randomHistory({ seed, operations: 20_000, keys: 8, clients: 10, minDurationMs: 1, maxDurationMs: 50, indeterminateRate: 0.1 });
      expectLinearizable(history, { timeoutMs: SEARCH_TIMEOUT_MS });
      const stale = makeOneReadStale(history);
      expectViolation(history, stale.input.key, { timeoutMs: SEARCH_TIMEOUT_MS });
    }
  });

  it('agrees with an exhaustive search over every order on small random histories', () => {
    const random = mulberry32(42);
    let linearizable = 0;
    for (let round = 0; round < 30_000; round++) {
      const history = smallHistory(random);
      const expected = exhaustivelyLinearizable(history);
      const result = checkLinearizable(history);
      if (result.ok !== expected) throw new Error(`round ${round}: checker says ${result.ok}, exhaustive search ${expected}: ${JSON.stringify(history)}`);
      if (expected) linearizable++;
    }
    // Both verdicts must be well represented for the comparison to mean anything.
    expect(linearizable).toBeGreaterThan(6000);
    expect(linearizable).toBeLessThan(27_000);
  });
});

describe('the timeout', () => {
  /**
   * Forty writes that overlap each other, each seen by a read that overlaps them too, then a stale read:
   * proving it stale means trying every order of the forty, which no cache can shorten enough.
   */
  function hardHistory(key: string): Operation[] {
    const history = [put(0, key, 'old', 0, 5)];
    for (let i = 0; i < 40; i++) history.push(put(i + 1, key, `v${i}`, 10, 1000), get(i + 41, key, `v${i}`, 10, 1000));
    history.push(get(99, key, 'old', 2000, 2010));
    return history;
  }

  // Without the timeout this search runs for far longer than the test's own timeout: the answer
  // (timedOut, and not a verdict on 'b') is what shows it gave up, not a clock.
  it('gives up once timeoutMs has passed, with ok true when no key it finished failed', () => {
    const result = checkLinearizable([put(1, 'a', 'x', 0, 10), ...hardHistory('b')], { timeoutMs: 200 });
    expect(result).toEqual({ ok: true, timedOut: true, keysChecked: 1, failures: [] });
  });

  it('reports the failures of the keys it finished before giving up', () => {
    const result = checkLinearizable([put(1, 'a', 'x', 0, 10), put(1, 'a', 'y', 20, 30), get(2, 'a', 'x', 40, 50), ...hardHistory('b')], { timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, timedOut: true, keysChecked: 1 });
    expect(result.failures.map((failure) => failure.key)).toEqual(['a']);
  });
});

/**
 * Up to 11 operations on one or two keys, a third of the writes indeterminate, with few values (so
 * some repeat) and few instants (so intervals tie). The outputs come from a store applied at random
 * instants inside the intervals; half the histories then get one output replaced by a random one.
 */
function smallHistory(random: () => number): Operation[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const values = ['a', 'b', 'c'];
  const keys = random() < 0.7 ? ['k'] : ['k', 'j'];
  const planned = Array.from({ length: 1 + Math.floor(random() * 11) }, (_, i) => {
    const input = randomInput(pick(keys), pick, values);
    const callMs = Math.floor(random() * 12);
    const returnMs = input.kind !== 'get' && random() < 0.35 ? null : callMs + Math.floor(random() * 6);
    const effectMs = returnMs !== null ? callMs + random() * (returnMs - callMs) : random() < 0.5 ? callMs + random() * 10 : null;
    return { operation: operation(i, input, callMs, returnMs, null), effectMs };
  });
  const store = new Map<string, string>();
  for (const { operation: done, effectMs } of [...planned].sort((a, b) => (a.effectMs ?? Infinity) - (b.effectMs ?? Infinity))) {
    if (effectMs === null) break;
    const output = applySequentially(store, done.input);
    if (done.returnMs !== null) done.output = output;
  }
  const history = planned.map((plan) => plan.operation);
  const known = history.filter((done) => done.output !== null);
  const corrupted = known.length > 0 && random() < 0.5 ? pick(known) : null;
  if (corrupted !== null) corrupted.output = randomOutput(corrupted.input, pick, values);
  return history;
}

function randomInput(key: string, pick: <T>(items: readonly T[]) => T, values: string[]): KvInput {
  const kind = pick(['put', 'get', 'get', 'delete', 'cas'] as const);
  if (kind === 'put') return { kind, key, value: pick(values) };
  if (kind === 'cas') return { kind, key, expected: pick([null, ...values]), value: pick(values) };
  return { kind, key };
}

function randomOutput(input: KvInput, pick: <T>(items: readonly T[]) => T, values: string[]): KvOutput {
  switch (input.kind) {
    case 'put':
      return { kind: 'put' };
    case 'get':
      return { kind: 'get', value: pick([null, ...values]) };
    case 'delete':
      return { kind: 'delete', deleted: pick([0, 1]) };
    case 'cas':
      return pick([{ kind: 'cas', succeeded: true }, { kind: 'cas', succeeded: false }, { kind: 'cas', succeeded: false, current: pick([null, ...values]) }]);
  }
}

/** The definition, directly: some order of the operations, respecting real time, that a sequential store accepts. */
function exhaustivelyLinearizable(history: Operation[]): boolean {
  const store = new Map<string, string>();
  const failed = new Set<string>();
  const search = (remaining: Operation[]): boolean => {
    // Indeterminate operations may take effect last, which is never.
    if (remaining.every((operation) => operation.returnMs === null)) return true;
    const configuration = `${remaining.map((operation) => operation.id).join()} ${JSON.stringify([...store].sort())}`;
    if (failed.has(configuration)) return false;
    const found = remaining.some((candidate) => {
      if (remaining.some((other) => other.returnMs !== null && other.returnMs < candidate.callMs)) return false;
      const before = new Map(store);
      const output = applySequentially(store, candidate.input);
      const fits = candidate.output === null || JSON.stringify(output) === JSON.stringify(candidate.output) || looselyEqual(output, candidate.output);
      const rest = fits && search(remaining.filter((operation) => operation !== candidate));
      store.clear();
      for (const [key, value] of before) store.set(key, value);
      return rest;
    });
    if (!found) failed.add(configuration);
    return found;
  };
  return search(history);
}

/** A failed cas that does not report the value it saw fits whatever value that was. */
function looselyEqual(actual: KvOutput, recorded: KvOutput): boolean {
  return actual.kind === 'cas' && recorded.kind === 'cas' && !actual.succeeded && !recorded.succeeded && recorded.current === undefined;
}

