import { describe, expect, it } from 'vitest';
import {
  checkHistoryAgainstWrites,
  checkResumable,
  checkWatch,
  type HistoryEvent,
  type KvSnapshot,
  type WatchRecording,
  type WatchResponseRecord,
} from './watch-checker.js';

type Op = { put: string; value: string; lease?: number } | { delete: string };

/** A tiny in-memory store producing the authoritative history, so fixtures keep etcd's kv bookkeeping right. */
class Store {
  revision = 1;
  readonly history: HistoryEvent[] = [];
  private readonly state = new Map<string, KvSnapshot>();

  put(key: string, value: string, lease = 0): number {
    return this.txn([{ put: key, value, lease }]);
  }

  delete(...keys: string[]): number {
    return this.txn(keys.map((key) => ({ delete: key })));
  }

  txn(ops: Op[]): number {
    this.revision++;
    for (const op of ops) this.history.push('put' in op ? this.applyPut(op.put, op.value, op.lease ?? 0) : this.applyDelete(op.delete));
    return this.revision;
  }

  /** The history event for `key` at `revision`. */
  event(revision: number, key: string): HistoryEvent {
    const found = this.history.find((event) => event.revision === revision && event.key === key);
    if (found === undefined) throw new Error(`fixture has no event for ${key} at ${revision}`);
    return found;
  }

  private applyPut(key: string, value: string, lease: number): HistoryEvent {
    const prevKv = this.state.get(key);
    const kv = { key, value, createRevision: prevKv?.createRevision ?? this.revision, modRevision: this.revision, version: (prevKv?.version ?? 0) + 1, lease };
    this.state.set(key, kv);
    return { type: 'put', key, revision: this.revision, kv, ...(prevKv === undefined ? {} : { prevKv }) };
  }

  private applyDelete(key: string): HistoryEvent {
    const prevKv = this.state.get(key);
    if (prevKv === undefined) throw new Error(`fixture deletes missing key ${key}`);
    this.state.delete(key);
    const kv = { key, value: '', createRevision: 0, modRevision: this.revision, version: 0, lease: 0 };
    return { type: 'delete', key, revision: this.revision, kv, prevKv };
  }
}

// Revision 2..7 of a small load; the watched range ['a', 'c') sees a and b but never c or z.
function fixture(): Store {
  const store = new Store();
  store.put('a', 'a1'); // 2
  store.put('b', 'b1'); // 3
  store.txn([{ put: 'a', value: 'a2' }, { put: 'c', value: 'c1' }, { delete: 'b' }]); // 4
  store.put('z', 'z1'); // 5
  store.delete('a'); // 6
  store.put('a', 'a3', 7); // 7
  return store;
}

const NAME = 'member m2 watcher 1';

function recording(fields: Partial<WatchRecording>): WatchRecording {
  return { name: NAME, key: 'a', rangeEnd: 'c', startRevision: 2, prevKv: true, filters: { noPut: false, noDelete: false }, responses: [], ...fields };
}

function response(events: HistoryEvent[], fields: Partial<WatchResponseRecord> = {}): WatchResponseRecord {
  const headerRevision = Math.max(0, ...events.map((event) => event.revision));
  return { headerRevision, watchId: 1, created: false, canceled: false, compactRevision: 0, events, ...fields };
}

const created = (headerRevision: number): WatchResponseRecord => response([], { created: true, headerRevision });
const progress = (headerRevision: number): WatchResponseRecord => response([], { headerRevision });

function withoutPrevKv(event: HistoryEvent): HistoryEvent {
  const copy = { ...event };
  delete copy.prevKv;
  return copy;
}

/** The correct stream for recording() over fixture(): one response per revision. */
function correctResponses(store: Store): WatchResponseRecord[] {
  return [
    created(1),
    response([store.event(2, 'a')]),
    response([store.event(3, 'b')]),
    response([store.event(4, 'a'), store.event(4, 'b')]),
    response([store.event(6, 'a')]),
    response([store.event(7, 'a')]),
  ];
}

/** Asserts exactly one violation, naming the watcher and containing every fragment. */
function expectOneViolation(violations: string[], ...fragments: string[]): void {
  expect(violations, violations.join('\n')).toHaveLength(1);
  expect(violations[0].startsWith(`${NAME}: `)).toBe(true);
  for (const fragment of fragments) expect(violations[0]).toContain(fragment);
}

describe('checkWatch accepts correct streams', () => {
  it('accepts a range watch with prev_kv that saw every revision', () => {
    const store = fixture();
    expect(checkWatch(recording({ responses: correctResponses(store) }), store.history)).toEqual([]);
  });

  it('accepts several revisions batched into one response', () => {
    const store = fixture();
    const events = [store.event(2, 'a'), store.event(3, 'b'), store.event(4, 'a'), store.event(4, 'b')];
    const responses = [created(1), response(events), response([store.event(6, 'a'), store.event(7, 'a')])];
    expect(checkWatch(recording({ responses }), store.history)).toEqual([]);
  });

  it('accepts a single-key watch without prev_kv that filters deletes', () => {
    const store = fixture();
    const puts = [store.event(2, 'a'), store.event(4, 'a'), store.event(7, 'a')].map(withoutPrevKv);
    const responses = [created(1), ...puts.map((event) => response([event]))];
    const watch = recording({ rangeEnd: '', prevKv: false, filters: { noPut: false, noDelete: true }, responses });
    expect(checkWatch(watch, store.history)).toEqual([]);
  });

  it('accepts a whole-keyspace watch from the revision after creation', () => {
    const store = fixture();
    const events = store.history.filter((event) => event.revision >= 5);
    const responses = [created(4), response([events[0]]), response([events[1]]), response([events[2]])];
    expect(checkWatch(recording({ key: '\0', rangeEnd: '\0', startRevision: 0, responses }), store.history)).toEqual([]);
  });

  it('accepts a watch that is caught up by a progress notification with no events in range', () => {
    const store = fixture();
    const responses = [created(1), response([store.event(5, 'z')]), progress(7)];
    expect(checkWatch(recording({ key: 'y', rangeEnd: '\0', startRevision: 5, responses }), store.history)).toEqual([]);
  });

  it('accepts a watch canceled by compaction before any event', () => {
    const store = fixture();
    const responses = [created(7), response([], { headerRevision: 7, canceled: true, compactRevision: 5 })];
    expect(checkWatch(recording({ responses }), store.history)).toEqual([]);
  });

  it('compares keys as byte strings', () => {
    const store = new Store();
    store.put('é', 'x'); // 2: UTF-8 0xc3 0xa9, after 'z' in byte order
    store.put('\uff21', 'y'); // 3: UTF-8 0xef 0xbc 0xa1, between 0xc3 and 0xf0
    const responses = [created(1), response([store.event(3, '\uff21')])];
    expect(checkWatch(recording({ key: '\u00ff', rangeEnd: '\u{10000}', responses }), store.history)).toEqual([]);
  });
});

describe('checkWatch rejects each broken guarantee', () => {
  it('ordered: a revision that arrives after a higher one', () => {
    const store = fixture();
    const responses = correctResponses(store);
    [responses[2], responses[3]] = [responses[3], responses[2]];
    const violations = checkWatch(recording({ responses }), store.history);
    expectOneViolation(violations, 'ordered:', 'put "b" at revision 3 (response[3])', 'after revision 4 (response[2])');
  });

  it('unique: the same event delivered twice', () => {
    const store = fixture();
    const responses = [...correctResponses(store), response([store.event(7, 'a')])];
    // The repeat also arrives in a second response, so atomicity is broken too.
    const violations = checkWatch(recording({ responses }), store.history);
    expect(violations).toContain(`${NAME}: unique: put "a" at revision 7 (response[6]) was already delivered in response[5]`);
    expect(violations).toHaveLength(2);
  });

  it('atomic: one revision split across two responses', () => {
    const store = fixture();
    const responses = correctResponses(store);
    responses.splice(3, 1, response([store.event(4, 'a')]), response([store.event(4, 'b')]));
    expectOneViolation(checkWatch(recording({ responses }), store.history), 'atomic:', 'revision 4 was split across response[3], response[4]');
  });

  it('reliable: a revision missing between delivered ones', () => {
    const store = fixture();
    const responses = correctResponses(store);
    responses.splice(2, 1);
    const violations = checkWatch(recording({ responses }), store.history);
    expectOneViolation(violations, 'reliable: missing put "b" at revision 3', 'from revision 2 (startRevision 2) to 7 (event in response[4])');
  });

  it('reliable: part of a transaction missing', () => {
    const store = fixture();
    const responses = correctResponses(store);
    responses[3] = response([store.event(4, 'a')]);
    expectOneViolation(checkWatch(recording({ responses }), store.history), 'reliable: missing delete "b" at revision 4');
  });

  it('reliable: events missing below a progress notification', () => {
    const store = fixture();
    const responses = [...correctResponses(store).slice(0, 4), progress(7)];
    const violations = checkWatch(recording({ responses }), store.history);
    expect(violations).toHaveLength(2);
    expect(violations[0]).toBe(
      `${NAME}: reliable: missing delete "a" at revision 6; expected every watched event from revision 2 (startRevision 2) ` +
        'to 7 (progress notification in response[4])',
    );
    expect(violations[1]).toContain('reliable: missing put "a" at revision 7');
  });

  it('progress: an event at or below a progress notification arrives after it', () => {
    const store = fixture();
    const responses = correctResponses(store);
    responses.splice(4, 0, progress(6));
    expectOneViolation(
      checkWatch(recording({ responses }), store.history),
      'progress: delete "a" at revision 6 (response[5]) arrived late',
      'progress notification response[4] at revision 6',
    );
  });

  it('exact: a wrong value', () => {
    const store = fixture();
    const responses = correctResponses(store);
    const event = store.event(4, 'a');
    responses[3] = response([{ ...event, kv: { ...event.kv, value: 'stale' } }, store.event(4, 'b')]);
    expectOneViolation(checkWatch(recording({ responses }), store.history), 'exact: put "a" at revision 4 (response[3]): kv.value expected "a2", saw "stale"');
  });

  it('exact: wrong revisions and type', () => {
    const store = fixture();
    const responses = correctResponses(store);
    const event = store.event(6, 'a');
    responses[4] = response([{ ...event, type: 'put', kv: { ...event.kv, version: 3, createRevision: 2 } }]);
    expectOneViolation(
      checkWatch(recording({ responses }), store.history),
      'exact: put "a" at revision 6 (response[4]): type expected delete, saw put; kv.createRevision expected 0, saw 2; kv.version expected 0, saw 3',
    );
  });

  it('exact: an event the store never produced', () => {
    const store = fixture();
    const responses = correctResponses(store);
    const phantom = { ...store.event(3, 'b'), key: 'a', kv: { ...store.event(3, 'b').kv, key: 'a' } };
    responses[2] = response([phantom]);
    const violations = checkWatch(recording({ responses }), store.history);
    expect(violations).toContain(`${NAME}: exact: put "a" at revision 3 (response[2]) is not in the history (no event for that key at that revision)`);
    expect(violations).toContain(
      `${NAME}: reliable: missing put "b" at revision 3; expected every watched event from revision 2 (startRevision 2) to 7 (event in response[5])`,
    );
    expect(violations).toHaveLength(2);
  });

  it('prev_kv: a wrong previous value', () => {
    const store = fixture();
    const responses = correctResponses(store);
    const event = store.event(7, 'a');
    responses[5] = response([{ ...event, prevKv: store.event(4, 'a').kv }]);
    expectOneViolation(
      checkWatch(recording({ responses }), store.history),
      'prev_kv: put "a" at revision 7 (response[5]): prevKv expected none, saw {"key":"a","value":"a2"',
    );
  });

  it('prev_kv: a previous value with a wrong field', () => {
    const store = fixture();
    const responses = correctResponses(store);
    const event = store.event(4, 'a');
    responses[3] = response([{ ...event, prevKv: { ...event.prevKv!, value: 'a0' } }, store.event(4, 'b')]);
    const violations = checkWatch(recording({ responses }), store.history);
    expectOneViolation(violations, 'prev_kv: put "a" at revision 4 (response[3]): prevKv.value expected "a1", saw "a0"');
  });

  it('prev_kv: missing although asked for', () => {
    const store = fixture();
    const responses = correctResponses(store);
    responses[4] = response([withoutPrevKv(store.event(6, 'a'))]);
    expectOneViolation(
      checkWatch(recording({ responses }), store.history),
      'prev_kv: delete "a" at revision 6 (response[4]): prevKv expected {"key":"a","value":"a2"',
      ', saw none',
    );
  });

  it('prev_kv: present although not asked for', () => {
    const store = fixture();
    const responses = correctResponses(store).map((each) => ({ ...each, events: each.events.map(withoutPrevKv) }));
    responses[3] = response([store.event(4, 'a'), withoutPrevKv(store.event(4, 'b'))]);
    expectOneViolation(
      checkWatch(recording({ prevKv: false, responses }), store.history),
      'prev_kv: put "a" at revision 4 (response[3]) carries prevKv {"key":"a","value":"a1"',
      'but the watcher did not ask for prev_kv',
    );
  });

  it('filter: a put delivered to a noPut watcher', () => {
    const store = fixture();
    const responses = [created(1), response([store.event(4, 'b')]), response([store.event(6, 'a')]), response([store.event(7, 'a')])];
    const watch = recording({ filters: { noPut: true, noDelete: false }, responses });
    expectOneViolation(checkWatch(watch, store.history), 'filter: put "a" at revision 7 (response[3]) was delivered although the watcher set noPut');
  });

  it('filter: a delete delivered to a noDelete watcher', () => {
    const store = fixture();
    const watch = recording({ filters: { noPut: false, noDelete: true }, responses: correctResponses(store) });
    const violations = checkWatch(watch, store.history);
    expect(violations).toEqual([
      `${NAME}: filter: delete "b" at revision 4 (response[3]) was delivered although the watcher set noDelete`,
      `${NAME}: filter: delete "a" at revision 6 (response[4]) was delivered although the watcher set noDelete`,
    ]);
  });

  it('range: an event for a key outside the watched range', () => {
    const store = fixture();
    const responses = correctResponses(store);
    responses.splice(4, 0, response([store.event(5, 'z')]));
    const violations = checkWatch(recording({ responses }), store.history);
    expectOneViolation(violations, 'range: put "z" at revision 5 (response[4]) is outside the watched range ["a", "c")');
  });

  it('cancel: a compaction response that is not canceled', () => {
    const store = fixture();
    const responses = [created(7), response([], { headerRevision: 7, compactRevision: 5 })];
    expectOneViolation(checkWatch(recording({ responses }), store.history), 'cancel: response[1] has compactRevision 5 but is not canceled');
  });

  it('cancel: events after the watch was canceled', () => {
    const store = fixture();
    const responses = correctResponses(store);
    responses.splice(4, 0, response([], { headerRevision: 4, canceled: true }));
    const violations = checkWatch(recording({ responses }), store.history);
    expect(violations).toEqual([
      `${NAME}: cancel: delete "a" at revision 6 (response[5]) arrived after the watch was canceled in response[4]`,
      `${NAME}: cancel: put "a" at revision 7 (response[6]) arrived after the watch was canceled in response[4]`,
    ]);
  });

  it('start revision: an event before startRevision', () => {
    const store = fixture();
    const responses = correctResponses(store).slice(2);
    expectOneViolation(
      checkWatch(recording({ startRevision: 4, responses }), store.history),
      'start revision: put "b" at revision 3 (response[0]) is before the first expected revision 4 (startRevision 4)',
    );
  });

  it('start revision: an event at or below the created header when watching from now', () => {
    const store = fixture();
    const responses = [created(3), response([store.event(3, 'b')]), ...correctResponses(store).slice(3)];
    expectOneViolation(
      checkWatch(recording({ startRevision: 0, responses }), store.history),
      'start revision: put "b" at revision 3 (response[1]) is before the first expected revision 4',
      '(startRevision 0, created in response[0] at header revision 3)',
    );
  });

  it('start revision: watching from now without a created response', () => {
    const store = fixture();
    const responses = correctResponses(store).slice(1);
    const violations = checkWatch(recording({ startRevision: 0, responses }), store.history);
    expectOneViolation(violations, 'start revision: startRevision is 0 but no created response arrived');
  });

  it('reports every violation of a badly broken stream, each naming the watcher', () => {
    const store = fixture();
    const responses = [created(1), response([store.event(7, 'a')]), response([store.event(4, 'a'), store.event(7, 'a')])];
    const violations = checkWatch(recording({ prevKv: false, responses }), store.history);
    for (const guarantee of ['ordered:', 'unique:', 'atomic:', 'reliable:', 'prev_kv:']) {
      expect(violations.some((violation) => violation.startsWith(`${NAME}: ${guarantee}`)), guarantee).toBe(true);
    }
  });
});

describe('checkResumable', () => {
  function split(store: Store): [WatchRecording, WatchRecording] {
    const responses = correctResponses(store);
    const first = recording({ name: 'first', responses: responses.slice(0, 3) });
    const resumed = recording({ name: 'resumed', startRevision: 4, responses: [created(3), ...responses.slice(3)] });
    return [first, resumed];
  }

  it('accepts a watcher resumed right after the last delivered revision', () => {
    const store = fixture();
    const [first, resumed] = split(store);
    expect(checkResumable(first, resumed, store.history)).toEqual([]);
  });

  it('rejects a resumed watcher that starts too late, naming the lost events', () => {
    const store = fixture();
    const [first, resumed] = split(store);
    resumed.startRevision = 6;
    resumed.responses.splice(1, 1);
    const seam = 'after revision 3, which the first watcher reached, and before the resumed one starts at 6';
    expect(checkResumable(first, resumed, store.history)).toEqual([
      'first -> resumed: resumable: startRevision expected 4 (last revision delivered by the first watcher + 1), saw 6',
      `first -> resumed: resumable: missing put "a" at revision 4: ${seam}`,
      `first -> resumed: resumable: missing delete "b" at revision 4: ${seam}`,
    ]);
  });

  it('rejects a resumed watcher that starts too early and repeats events', () => {
    const store = fixture();
    const [first, resumed] = split(store);
    resumed.startRevision = 3;
    resumed.responses.splice(1, 0, response([store.event(3, 'b')]));
    expect(checkResumable(first, resumed, store.history)).toEqual([
      'first -> resumed: resumable: startRevision expected 4 (last revision delivered by the first watcher + 1), saw 3',
    ]);
  });

  it('rejects a resumed watcher over a different range', () => {
    const store = fixture();
    const [first, resumed] = split(store);
    resumed.rangeEnd = 'b';
    resumed.responses[1] = response([store.event(4, 'a')]);
    const violations = checkResumable(first, resumed, store.history);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('first -> resumed: resumable: the resumed watcher must watch the same range with the same options');
  });

  it('includes the violations of each watcher', () => {
    const store = fixture();
    const [first, resumed] = split(store);
    resumed.responses.splice(2, 1);
    expect(checkResumable(first, resumed, store.history)).toEqual([expect.stringContaining('resumed: reliable: missing delete "a" at revision 6')]);
  });
});

describe('checkHistoryAgainstWrites', () => {
  const acknowledged = [
    { key: 'a', value: 'a1', revision: 2 },
    { key: 'b', value: 'b1', revision: 3 },
    { key: 'a', value: 'a3', revision: 7 },
  ];

  it('accepts a consistent history holding every acknowledged put', () => {
    expect(checkHistoryAgainstWrites(fixture().history, acknowledged)).toEqual([]);
  });

  it('accepts a history that starts mid-way, skipping prevKv of first occurrences', () => {
    const history = fixture().history.filter((event) => event.revision >= 4);
    expect(checkHistoryAgainstWrites(history, acknowledged.slice(2))).toEqual([]);
  });

  it('rejects an acknowledged put that is missing', () => {
    const violations = checkHistoryAgainstWrites(fixture().history, [{ key: 'q', value: 'q1', revision: 5 }]);
    expect(violations).toEqual(['history: acknowledged put "q" = "q1" at revision 5 is missing; the history has at revision 5: put "z"']);
  });

  it('rejects an acknowledged put beyond the history', () => {
    const violations = checkHistoryAgainstWrites(fixture().history, [{ key: 'a', value: 'a4', revision: 9 }]);
    expect(violations).toEqual(['history: acknowledged put "a" = "a4" at revision 9 is missing; the history has no events at revision 9']);
  });

  it('rejects an acknowledged put with another value', () => {
    const violations = checkHistoryAgainstWrites(fixture().history, [{ key: 'a', value: 'lost', revision: 2 }]);
    expect(violations).toEqual(['history: acknowledged put "a" = "lost" at revision 2: value expected "lost", the history has "a1"']);
  });

  it('rejects an acknowledged put that the history records as a delete', () => {
    const violations = checkHistoryAgainstWrites(fixture().history, [{ key: 'a', value: 'a2', revision: 6 }]);
    expect(violations).toEqual(['history: acknowledged put "a" = "a2" at revision 6: expected a put, the history has a delete']);
  });

  it('rejects a revision whose events are not adjacent', () => {
    const history = fixture().history;
    const [moved] = history.splice(4, 1); // delete "b" at revision 4
    history.splice(5, 0, moved);
    const violations = checkHistoryAgainstWrites(history, []);
    expect(violations).toEqual(['history: delete "b" at revision 4 at index 5 is not adjacent to the other events of revision 4 (first at index 2)']);
  });

  it('rejects a decreasing revision', () => {
    const history = fixture().history;
    [history[0], history[1]] = [history[1], history[0]];
    expect(checkHistoryAgainstWrites(history, [])).toEqual([
      'history: put "a" at revision 2 at index 1 follows revision 3; the history must be sorted by revision',
    ]);
  });

  it('rejects a prevKv that disagrees with the replayed state', () => {
    const store = fixture();
    const event = store.event(4, 'a');
    event.prevKv = { ...event.prevKv!, version: 5 };
    expect(checkHistoryAgainstWrites(store.history, [])).toEqual([
      'history: put "a" at revision 4 at index 2 disagrees with the replayed state of the key: prevKv.version expected 1, saw 5',
    ]);
  });

  it('rejects a missing prevKv after a delete and a prevKv on a created key', () => {
    const store = fixture();
    delete store.event(6, 'a').prevKv;
    store.event(2, 'a').prevKv = store.event(7, 'a').kv;
    const violations = checkHistoryAgainstWrites(store.history, []);
    expect(violations).toHaveLength(2);
    expect(violations[0]).toMatch(/^history: put "a" at revision 2 at index 0 disagrees .*: prevKv expected none, saw \{"key":"a","value":"a3"/);
    expect(violations[1]).toMatch(/^history: delete "a" at revision 6 at index 6 disagrees .*: prevKv expected \{"key":"a","value":"a2".*\}, saw none$/);
  });

  it('rejects a repeated event and a kv that does not match its event', () => {
    const store = fixture();
    const history = [...store.history, store.history[store.history.length - 1]];
    store.event(3, 'b').kv.modRevision = 2;
    expect(checkHistoryAgainstWrites(history, [])).toEqual([
      'history: put "b" at revision 3 at index 1: kv.modRevision expected 3, saw 2',
      'history: put "a" at revision 7 at index 8 repeats the event at index 7',
      // Replayed, the repeat is a second write whose prevKv should have been the first one.
      expect.stringMatching(/^history: put "a" at revision 7 at index 8 disagrees .*: prevKv expected \{"key":"a","value":"a3".*\}, saw none$/),
    ]);
  });
});
