import { describe, expect, it } from 'vitest';
import { CompactedRevisionError } from '../../src/mvcc/errors.js';
import type { Event, MvccStore } from '../../src/mvcc/mvcc-store.js';
import { TooManyWatchersError, WatchHub, type WatchFilters, type WatchHubLimits, type WatchReceiver, type Watcher } from '../../src/mvcc/watch-hub.js';
import { ALL, NONE, b, del, installCopy, openStore, put, s } from './helpers.js';

// ---- a recording receiver -------------------------------------------------------------------

interface Delivery {
  readonly watcher: Watcher;
  readonly events: readonly Event[];
  readonly revision: number;
}

/** Records what the hub offers; refuses everything while `accepting` is false (a full gRPC stream). */
class Recorder implements WatchReceiver {
  accepting = true;
  refused = 0;
  readonly deliveries: Delivery[] = [];
  readonly compactions: Array<{ watcher: Watcher; compactRevision: number }> = [];
  readonly syncs: Watcher[] = [];
  /** Called at the start of each deliver (to cancel watchers from inside a delivery). */
  onDeliver: ((watcher: Watcher) => void) | null = null;

  deliver(watcher: Watcher, events: readonly Event[], revision: number): boolean {
    this.onDeliver?.(watcher);
    if (!this.accepting) {
      this.refused++;
      return false;
    }
    this.deliveries.push({ watcher, events, revision });
    return true;
  }

  compacted(watcher: Watcher, compactRevision: number): void {
    this.compactions.push({ watcher, compactRevision });
  }

  synced(watcher: Watcher): void {
    this.syncs.push(watcher);
  }

  /** Every event offered (to `watcher`, if given), flattened, as [type, key, value, modRevision]. */
  events(watcher?: Watcher): Array<[string, string, string, number]> {
    return this.deliveries.filter((d) => watcher === undefined || d.watcher === watcher).flatMap((d) => d.events.map(short));
  }

  /** The main revisions of the events of each delivery. */
  revisions(watcher?: Watcher): number[][] {
    return this.deliveries.filter((d) => watcher === undefined || d.watcher === watcher).map((d) => d.events.map((e) => e.kv.modRevision));
  }
}

function short(event: Event): [string, string, string, number] {
  return [event.type, s(event.kv.key), s(event.kv.value), event.kv.modRevision];
}

/** An event with its prevKv, as plain values. */
function full(event: Event): unknown {
  const kv = event.kv;
  const prev = event.prevKv;
  return {
    type: event.type,
    kv: [s(kv.key), s(kv.value), kv.createRevision, kv.modRevision, kv.version],
    prev: prev === undefined ? undefined : [s(prev.key), s(prev.value), prev.createRevision, prev.modRevision, prev.version],
  };
}

/** Whether two lists hold the same watchers (by identity), in order. */
function same(actual: readonly Watcher[], expected: readonly Watcher[]): boolean {
  return actual.length === expected.length && actual.every((watcher, i) => watcher === expected[i]);
}

const BOTH: WatchFilters = { noPut: false, noDelete: false };

function prefixEnd(prefix: string): Buffer {
  const end = b(prefix);
  end[end.length - 1]++;
  return end;
}

function watchKey(hub: WatchHub, receiver: WatchReceiver, key: string, startRevision = 0, filters: WatchFilters = BOTH): Watcher {
  return hub.watch({ key: b(key), rangeEnd: NONE, startRevision, filters }, receiver);
}

function watchPrefix(hub: WatchHub, receiver: WatchReceiver, prefix: string, startRevision = 0): Watcher {
  return hub.watch({ key: b(prefix), rangeEnd: prefixEnd(prefix), startRevision, filters: BOTH }, receiver);
}

function watchRange(hub: WatchHub, receiver: WatchReceiver, key: string, rangeEnd: Uint8Array, startRevision = 0): Watcher {
  return hub.watch({ key: b(key), rangeEnd, startRevision, filters: BOTH }, receiver);
}

/** Runs catchUp() until no watcher is left unsynced (or it stops making progress). */
function catchUpAll(hub: WatchHub, rounds = 1000): void {
  for (let round = 0; round < rounds && hub.catchUp(); round++);
}

async function setup(limits: Partial<WatchHubLimits> = {}): Promise<{ store: MvccStore; hub: WatchHub; rec: Recorder }> {
  const store = await openStore();
  return { store, hub: new WatchHub(store, limits), rec: new Recorder() };
}

/** A write transaction running `body`; returns the store's revision after it. */
function txn(store: MvccStore, body: (t: ReturnType<MvccStore['write']>) => void): number {
  const t = store.write();
  body(t);
  return t.end();
}

/** Checks the hub's guarantees on one watcher's deliveries against the store's full history from `from`. */
function expectWholeRevisionsInOrder(store: MvccStore, rec: Recorder, watcher: Watcher, from: number): void {
  const truth = store.changesSince(from, (name) => watcher.matches(name), Infinity, Infinity).events;
  expect(rec.events(watcher)).toEqual(truth.map(short));
  let last = from - 1;
  for (const delivery of rec.deliveries.filter((d) => d.watcher === watcher)) {
    const revisions = delivery.events.map((e) => e.kv.modRevision);
    expect(revisions[0]).toBeGreaterThan(last);
    expect(delivery.revision).toBeGreaterThanOrEqual(revisions[revisions.length - 1]);
    for (const revision of new Set(revisions)) {
      expect(delivery.events.filter((e) => e.kv.modRevision === revision).map(short)).toEqual(truth.filter((e) => e.kv.modRevision === revision).map(short));
    }
    last = delivery.revision;
  }
}

// ---- live delivery ----------------------------------------------------------------------------

describe('live delivery to synced watchers', () => {
  it('a watcher from revision 0 gets each later revision as it is written, one delivery each', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'a', 'before');
    const watcher = watchKey(hub, rec, 'a');
    expect(watcher.synced).toBe(true);
    expect(rec.deliveries).toEqual([]);
    put(store, 'a', '1');
    expect(rec.deliveries.map((d) => [d.revision, d.events.map(short)])).toEqual([[3, [['put', 'a', '1', 3]]]]);
    put(store, 'a', '2');
    del(store, 'a');
    expect(rec.deliveries.map((d) => [d.revision, d.events.map(short)])).toEqual([
      [3, [['put', 'a', '1', 3]]],
      [4, [['put', 'a', '2', 4]]],
      [5, [['delete', 'a', '', 5]]],
    ]);
    expect(rec.syncs).toEqual([]);
  });

  it('a multi-op transaction arrives in one delivery, in sub-revision order, with kv and prevKv', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'k1', 'old1');
    put(store, 'k3', 'old3');
    watchPrefix(hub, rec, 'k');
    const revision = txn(store, (t) => {
      t.put(b('k2'), b('new2'), 0n);
      t.put(b('k1'), b('x'), 0n);
      t.deleteRange(b('k3'), NONE);
      t.put(b('k1'), b('y'), 0n);
    });
    expect(revision).toBe(4);
    expect(rec.deliveries).toHaveLength(1);
    expect(rec.deliveries[0].revision).toBe(4);
    expect(rec.deliveries[0].events.map(full)).toEqual([
      { type: 'put', kv: ['k2', 'new2', 4, 4, 1], prev: undefined },
      { type: 'put', kv: ['k1', 'x', 2, 4, 2], prev: ['k1', 'old1', 2, 2, 1] },
      { type: 'delete', kv: ['k3', '', 0, 4, 0], prev: ['k3', 'old3', 3, 3, 1] },
      { type: 'put', kv: ['k1', 'y', 2, 4, 3], prev: ['k1', 'x', 2, 4, 2] },
    ]);
  });

  it('a range delete arrives in one delivery, in key order, each with its prevKv', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'r/a', '1');
    put(store, 'r/b', '2');
    put(store, 'r/c', '3');
    watchPrefix(hub, rec, 'r/');
    del(store, 'r/', prefixEnd('r/'));
    expect(rec.deliveries).toHaveLength(1);
    expect(rec.deliveries[0].events.map(full)).toEqual([
      { type: 'delete', kv: ['r/a', '', 0, 5, 0], prev: ['r/a', '1', 2, 2, 1] },
      { type: 'delete', kv: ['r/b', '', 0, 5, 0], prev: ['r/b', '2', 3, 3, 1] },
      { type: 'delete', kv: ['r/c', '', 0, 5, 0], prev: ['r/c', '3', 4, 4, 1] },
    ]);
  });

  it('a put after a delete has no prevKv; a delete\'s prevKv is the last put', async () => {
    const { store, hub, rec } = await setup();
    watchKey(hub, rec, 'a');
    put(store, 'a', '1');
    put(store, 'a', '2');
    del(store, 'a');
    put(store, 'a', '3');
    expect(rec.deliveries.flatMap((d) => d.events.map(full))).toEqual([
      { type: 'put', kv: ['a', '1', 2, 2, 1], prev: undefined },
      { type: 'put', kv: ['a', '2', 2, 3, 2], prev: ['a', '1', 2, 2, 1] },
      { type: 'delete', kv: ['a', '', 0, 4, 0], prev: ['a', '2', 2, 3, 2] },
      { type: 'put', kv: ['a', '3', 5, 5, 1], prev: undefined },
    ]);
  });

  it('a transaction that changes nothing delivers nothing', async () => {
    const { store, hub, rec } = await setup();
    watchRange(hub, rec, 'a', ALL);
    del(store, 'missing');
    txn(store, (t) => t.range(b('a'), NONE));
    expect(rec.deliveries).toEqual([]);
  });
});

describe('which keys a watcher sees', () => {
  function writeKeys(store: MvccStore): void {
    for (const key of ['a', 'ab', 'abc', 'abd', 'ac', 'b', 'b\0', 'ba', 'c', 'z', '\u00ff']) put(store, key, 'v');
  }

  it('a single-key watcher sees only its key, not keys it prefixes', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchKey(hub, rec, 'ab');
    writeKeys(store);
    expect(rec.events(watcher).map((e) => e[1])).toEqual(['ab']);
  });

  it('a prefix watcher sees exactly [key, key+1)', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchPrefix(hub, rec, 'ab');
    writeKeys(store);
    expect(rec.events(watcher).map((e) => e[1])).toEqual(['ab', 'abc', 'abd']);
  });

  it('a from-key watcher ("\\0" range end) sees every key ≥ key', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchRange(hub, rec, 'b', ALL);
    writeKeys(store);
    expect(rec.events(watcher).map((e) => e[1])).toEqual(['b', 'b\0', 'ba', 'c', 'z', '\u00ff']);
  });

  it('a range watcher sees [key, rangeEnd), end excluded', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchRange(hub, rec, 'abd', b('b\0'));
    writeKeys(store);
    expect(rec.events(watcher).map((e) => e[1])).toEqual(['abd', 'ac', 'b']);
  });

  it('a range watcher whose end is not above its key sees nothing', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchRange(hub, rec, 'b', b('a'));
    writeKeys(store);
    expect(rec.events(watcher)).toEqual([]);
  });

  it('watchers on different keys of one transaction each get only their events', async () => {
    const { store, hub, rec } = await setup();
    const a = watchKey(hub, rec, 'a');
    const c = watchKey(hub, rec, 'c');
    const ab = watchPrefix(hub, rec, 'a');
    txn(store, (t) => {
      t.put(b('a'), b('1'), 0n);
      t.put(b('b'), b('2'), 0n);
      t.put(b('ax'), b('3'), 0n);
    });
    expect(rec.events(a)).toEqual([['put', 'a', '1', 2]]);
    expect(rec.events(c)).toEqual([]);
    expect(rec.events(ab)).toEqual([
      ['put', 'a', '1', 2],
      ['put', 'ax', '3', 2],
    ]);
    expect(rec.deliveries).toHaveLength(2);
  });

  it('noPut leaves out puts, noDelete leaves out deletes; a revision with nothing left is not delivered', async () => {
    const { store, hub, rec } = await setup();
    const noPut = watchKey(hub, rec, 'a', 0, { noPut: true, noDelete: false });
    const noDelete = watchKey(hub, rec, 'a', 0, { noPut: false, noDelete: true });
    put(store, 'a', '1');
    del(store, 'a');
    txn(store, (t) => {
      t.put(b('a'), b('2'), 0n);
      t.deleteRange(b('a'), NONE);
    });
    expect(rec.revisions(noPut)).toEqual([[3], [4]]);
    expect(rec.events(noPut)).toEqual([
      ['delete', 'a', '', 3],
      ['delete', 'a', '', 4],
    ]);
    expect(rec.revisions(noDelete)).toEqual([[2], [4]]);
    expect(rec.events(noDelete)).toEqual([
      ['put', 'a', '1', 2],
      ['put', 'a', '2', 4],
    ]);
  });

  it('filters apply to catch-up from history too', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'a', '1');
    del(store, 'a');
    put(store, 'a', '2');
    const noPut = watchKey(hub, rec, 'a', 2, { noPut: true, noDelete: false });
    catchUpAll(hub);
    expect(rec.events(noPut)).toEqual([['delete', 'a', '', 3]]);
    expect(noPut.synced).toBe(true);
  });
});

// ---- history --------------------------------------------------------------------------------

describe('watchers from a past revision', () => {
  it('get nothing until caught up, then the history from their revision in order, then live events', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'a', '1'); // 2
    put(store, 'a', '2'); // 3
    put(store, 'b', 'x'); // 4
    del(store, 'a'); // 5
    const watcher = watchKey(hub, rec, 'a', 3);
    expect(watcher.synced).toBe(false);
    expect(hub.unsyncedCount).toBe(1);
    put(store, 'a', '3'); // 6, not delivered live: the watcher is unsynced
    expect(rec.deliveries).toEqual([]);
    expect(rec.syncs).toEqual([]);
    hub.catchUpOne(watcher);
    expect(rec.deliveries).toHaveLength(1);
    expect(rec.deliveries[0].revision).toBe(6);
    expect(rec.deliveries[0].events.map(full)).toEqual([
      { type: 'put', kv: ['a', '2', 2, 3, 2], prev: ['a', '1', 2, 2, 1] },
      { type: 'delete', kv: ['a', '', 0, 5, 0], prev: ['a', '2', 2, 3, 2] },
      { type: 'put', kv: ['a', '3', 6, 6, 1], prev: undefined },
    ]);
    expect(watcher.synced).toBe(true);
    expect(same(rec.syncs, [watcher])).toBe(true);
    expect(hub.unsyncedCount).toBe(0);
    put(store, 'a', '4');
    expect(rec.events(watcher).slice(3)).toEqual([['put', 'a', '4', 7]]);
    expect(same(rec.syncs, [watcher])).toBe(true);
  });

  it('a start revision equal to the current one starts unsynced and gets that revision', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'a', '1');
    const watcher = watchKey(hub, rec, 'a', store.revision);
    expect(watcher.synced).toBe(false);
    expect(hub.catchUp()).toBe(false);
    expect(rec.events(watcher)).toEqual([['put', 'a', '1', 2]]);
    expect(same(rec.syncs, [watcher])).toBe(true);
  });

  it('a start revision of current + 1 starts synced', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'a', '1');
    const watcher = watchKey(hub, rec, 'a', store.revision + 1);
    expect(watcher.synced).toBe(true);
    put(store, 'a', '2');
    expect(rec.events(watcher)).toEqual([['put', 'a', '2', 3]]);
  });

  // As etcd: a synced watcher with a start revision in the future keeps it as its first revision.
  it('a start revision in the future gets nothing before that revision (as in etcd)', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchKey(hub, rec, 'a', 4);
    put(store, 'a', '1'); // 2
    put(store, 'a', '2'); // 3
    put(store, 'a', '3'); // 4
    expect(rec.events(watcher)).toEqual([['put', 'a', '3', 4]]);
  });

  it('a watcher with nothing to catch up in its range becomes synced with no delivery', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'other', '1');
    put(store, 'other', '2');
    const watcher = watchKey(hub, rec, 'a', 2);
    hub.catchUpOne(watcher);
    expect(rec.deliveries).toEqual([]);
    expect(watcher.synced).toBe(true);
    expect(same(rec.syncs, [watcher])).toBe(true);
  });

  it('catch-up deliveries are bounded by catchUpEventsMax and never split a revision', async () => {
    const { store, hub, rec } = await setup({ catchUpEventsMax: 3, catchUpScanMax: 1000 });
    for (let i = 0; i < 5; i++) put(store, 'k/a', `${i}`); // 2..6
    txn(store, (t) => {
      for (const key of ['k/b', 'k/c', 'k/d', 'k/e', 'k/f']) t.put(b(key), b('big'), 0n);
    }); // 7: five events in one revision
    for (let i = 0; i < 4; i++) put(store, 'k/a', `late${i}`); // 8..11
    const watcher = watchPrefix(hub, rec, 'k/', 2);
    let rounds = 0;
    while (hub.catchUp()) rounds++;
    expect(rounds).toBeGreaterThan(1);
    expect(rec.revisions(watcher)).toEqual([[2, 3, 4], [5, 6, 7, 7, 7, 7, 7], [8, 9, 10], [11]]);
    expectWholeRevisionsInOrder(store, rec, watcher, 2);
    expect(watcher.synced).toBe(true);
    expect(same(rec.syncs, [watcher])).toBe(true);
  });

  it('catch-up steps are bounded by catchUpScanMax over records of any key, and never split a revision', async () => {
    const { store, hub, rec } = await setup({ catchUpEventsMax: 3, catchUpScanMax: 5 });
    for (let i = 0; i < 12; i++) put(store, 'noise', `${i}`); // 2..13
    txn(store, (t) => {
      for (let i = 0; i < 7; i++) t.put(b(`noise${i}`), b('x'), 0n);
      t.put(b('a'), b('in7'), 0n);
    }); // 14: eight records
    put(store, 'a', 'last'); // 15
    const watcher = watchKey(hub, rec, 'a', 2);
    const steps: number[] = [];
    while (hub.catchUp()) steps.push(watcher.nextRevision);
    // Each step looks at whole revisions until 5 records were scanned: 2..6, 7..11, 12..13 + 14, then 15.
    expect(steps).toEqual([7, 12, 15]);
    expect(rec.deliveries.map((d) => [d.revision, d.events.map(short)])).toEqual([
      [14, [['put', 'a', 'in7', 14]]],
      [15, [['put', 'a', 'last', 15]]],
    ]);
    expect(watcher.synced).toBe(true);
  });

  it('many watchers from the past catch up together, each exactly its own history', async () => {
    const { store, hub, rec } = await setup({ catchUpEventsMax: 3, catchUpScanMax: 5 });
    for (let i = 0; i < 30; i++) {
      txn(store, (t) => {
        t.put(b(`k${i % 4}`), b(`${i}`), 0n);
        if (i % 3 === 0) t.put(b(`k${(i + 1) % 4}`), b(`x${i}`), 0n);
        if (i % 7 === 6) t.deleteRange(b('k2'), NONE);
      });
    }
    const watchers = [watchKey(hub, rec, 'k1', 2), watchKey(hub, rec, 'k2', 10), watchPrefix(hub, rec, 'k', 5), watchRange(hub, rec, 'k1', b('k3'), 20)];
    catchUpAll(hub);
    put(store, 'k2', 'live');
    for (const [watcher, from] of watchers.map((w, i) => [w, [2, 10, 5, 20][i]] as const)) {
      expect(watcher.synced).toBe(true);
      expectWholeRevisionsInOrder(store, rec, watcher, from);
    }
    expect(rec.syncs).toHaveLength(4);
  });
});

// ---- slow receivers ---------------------------------------------------------------------------

describe('a receiver that refuses', () => {
  it('unsyncs the watcher at the revision it missed; nothing is lost or duplicated after it accepts again', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchKey(hub, rec, 'a');
    put(store, 'a', '1'); // 2, delivered
    rec.accepting = false;
    put(store, 'a', '2'); // 3, refused
    expect(rec.refused).toBe(1);
    expect(watcher.synced).toBe(false);
    expect(watcher.nextRevision).toBe(3);
    expect(hub.unsyncedCount).toBe(1);
    put(store, 'a', '3'); // 4: not offered at all while unsynced
    del(store, 'a'); // 5
    expect(rec.refused).toBe(1);
    expect(hub.catchUp()).toBe(true); // still refusing
    expect(rec.refused).toBe(2);
    expect(watcher.nextRevision).toBe(3);
    rec.accepting = true;
    expect(hub.catchUp()).toBe(false);
    expect(same(rec.syncs, [watcher])).toBe(true);
    put(store, 'a', '4'); // 6, live
    expect(rec.deliveries.map((d) => [d.revision, d.events.map(short)])).toEqual([
      [2, [['put', 'a', '1', 2]]],
      [5, [['put', 'a', '2', 3], ['put', 'a', '3', 4], ['delete', 'a', '', 5]]],
      [6, [['put', 'a', '4', 6]]],
    ]);
  });

  it('only the refusing watcher falls behind; others on the same revision still get it live', async () => {
    const { store, hub } = await setup();
    const slow = new Recorder();
    const fast = new Recorder();
    const s1 = watchPrefix(hub, slow, 'k');
    const f1 = watchPrefix(hub, fast, 'k');
    const f2 = watchKey(hub, fast, 'k1');
    slow.accepting = false;
    put(store, 'k1', 'a');
    expect(s1.synced).toBe(false);
    expect(f1.synced && f2.synced).toBe(true);
    expect(fast.deliveries).toHaveLength(2);
    expect(hub.unsyncedCount).toBe(1);
  });

  it('catch-up after refusals is bounded, whole-revision, in order, then live', async () => {
    const { store, hub, rec } = await setup({ catchUpEventsMax: 3, catchUpScanMax: 5 });
    const watcher = watchPrefix(hub, rec, 'p/');
    put(store, 'p/a', '0');
    rec.accepting = false;
    for (let i = 1; i <= 20; i++) {
      txn(store, (t) => {
        t.put(b(`p/${String.fromCharCode(97 + (i % 3))}`), b(`${i}`), 0n);
        if (i % 4 === 0) t.put(b('other'), b(`${i}`), 0n);
        if (i % 5 === 0) for (const key of ['p/x', 'p/y', 'p/z', 'p/w']) t.put(b(key), b(`${i}`), 0n);
      });
    }
    expect(watcher.synced).toBe(false);
    // Refuse a few catch-up offers in the middle, too.
    rec.accepting = true;
    hub.catchUp();
    rec.accepting = false;
    hub.catchUp();
    hub.catchUp();
    rec.accepting = true;
    catchUpAll(hub);
    expect(watcher.synced).toBe(true);
    put(store, 'p/live', '!');
    expectWholeRevisionsInOrder(store, rec, watcher, 2);
    for (const delivery of rec.deliveries.slice(1)) {
      const lastRevision = delivery.events[delivery.events.length - 1].kv.modRevision;
      expect(delivery.events.filter((e) => e.kv.modRevision !== lastRevision).length).toBeLessThan(3);
    }
    expect(rec.deliveries.some((d) => d.events.length > 3)).toBe(true); // a 5-event revision went whole
  });

  it('a watcher that refuses again while catching up stays at its revision', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchKey(hub, rec, 'a', 0);
    rec.accepting = false;
    put(store, 'a', '1');
    put(store, 'a', '2');
    for (let i = 0; i < 3; i++) expect(hub.catchUp()).toBe(true);
    expect(watcher.nextRevision).toBe(2);
    expect(rec.deliveries).toEqual([]);
    expect(rec.syncs).toEqual([]);
  });

  // A watcher canceled from inside its own receiver's deliver() (a stream that closes while writing)
  // must not be put back among the unsynced ones when that deliver() refuses.
  it('a watcher canceled during its refused delivery is not left unsynced', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchKey(hub, rec, 'a');
    rec.onDeliver = (w) => hub.cancel(w);
    rec.accepting = false;
    put(store, 'a', '1');
    expect(hub.watcherCount).toBe(0);
    expect(hub.unsyncedCount).toBe(0);
    expect(hub.catchUp()).toBe(false);
    expect(watcher.canceled).toBe(true);
  });

  // The watchers to notify are collected before any delivery: one canceled meanwhile gets nothing.
  it('a watcher canceled during another watcher\'s delivery of the same revision gets nothing', async () => {
    const { store, hub } = await setup();
    const first = new Recorder();
    const second = new Recorder();
    watchKey(hub, first, 'a');
    const victim = watchKey(hub, second, 'a');
    first.onDeliver = () => hub.cancel(victim);
    put(store, 'a', '1');
    expect(first.deliveries).toHaveLength(1);
    expect(second.deliveries).toEqual([]);
  });
});

// ---- compaction -------------------------------------------------------------------------------

describe('compaction', () => {
  it('cancels an unsynced watcher whose next revision was compacted, with the compacted revision', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchKey(hub, rec, 'a');
    rec.accepting = false;
    put(store, 'a', '1'); // 2, refused
    put(store, 'a', '2'); // 3
    put(store, 'a', '3'); // 4
    store.compact(3);
    rec.accepting = true;
    expect(hub.catchUp()).toBe(false);
    expect(rec.compactions.map((c) => [c.watcher === watcher, c.compactRevision])).toEqual([[true, 3]]);
    expect(rec.deliveries).toEqual([]);
    expect(watcher.canceled).toBe(true);
    expect(hub.watcherCount).toBe(0);
    expect(hub.unsyncedCount).toBe(0);
    put(store, 'a', '4');
    expect(rec.deliveries).toEqual([]);
  });

  it('an unsynced watcher at or above the compacted revision catches up normally', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'a', '1'); // 2
    put(store, 'a', '2'); // 3
    const watcher = watchKey(hub, rec, 'a', 3);
    put(store, 'a', '3'); // 4
    store.compact(3);
    catchUpAll(hub);
    expect(rec.compactions).toEqual([]);
    expect(rec.events(watcher)).toEqual([
      ['put', 'a', '2', 3],
      ['put', 'a', '3', 4],
    ]);
    expect(rec.deliveries[0].events[0].prevKv).toBeUndefined(); // the value at 2 is gone
    expect(rec.deliveries[0].events[1].prevKv?.modRevision).toBe(3);
  });

  it('a watch started below the compacted revision is canceled at its first catch-up', async () => {
    const { store, hub, rec } = await setup();
    for (let i = 0; i < 5; i++) put(store, 'a', `${i}`); // 2..6
    store.compact(5);
    const watcher = watchKey(hub, rec, 'a', 2);
    expect(watcher.canceled).toBe(false);
    expect(hub.watcherCount).toBe(1);
    hub.catchUpOne(watcher);
    expect(rec.compactions.map((c) => [c.watcher === watcher, c.compactRevision])).toEqual([[true, 5]]);
    expect(rec.deliveries).toEqual([]);
    expect(rec.syncs).toEqual([]);
    expect(hub.watcherCount).toBe(0);
  });

  it('leaves a synced watcher alone', async () => {
    const { store, hub, rec } = await setup();
    const watcher = watchKey(hub, rec, 'a');
    put(store, 'a', '1');
    put(store, 'a', '2');
    store.compact(3);
    put(store, 'a', '3');
    expect(hub.catchUp()).toBe(false);
    expect(rec.compactions).toEqual([]);
    expect(watcher.synced).toBe(true);
    expect(rec.events(watcher).map((e) => e[3])).toEqual([2, 3, 4]);
  });
});

// ---- restore ----------------------------------------------------------------------------------

describe('restore from a snapshot (a staged copy installed)', () => {
  /** Writes the same history into every store: revisions 2..(count+1). */
  function history(stores: MvccStore[], from: number, count: number): void {
    for (let i = from; i < from + count; i++) {
      for (const store of stores) {
        txn(store, (t) => {
          t.put(b(`k${i % 3}`), b(`v${i}`), 0n);
          if (i % 4 === 3) t.deleteRange(b('k1'), NONE);
        });
      }
    }
  }

  it('a previously synced watcher receives exactly the revisions it had not seen', async () => {
    const behind = await openStore();
    const ahead = await openStore();
    history([behind, ahead], 0, 5); // both at 6
    history([ahead], 5, 6); // ahead at 12
    const hub = new WatchHub(behind);
    const rec = new Recorder();
    const single = watchKey(hub, rec, 'k1');
    const prefix = watchPrefix(hub, rec, 'k');
    await installCopy(ahead, behind);
    expect(behind.revision).toBe(12);
    expect(rec.deliveries).toEqual([]);
    expect(single.synced || prefix.synced).toBe(false);
    expect(hub.unsyncedCount).toBe(2);
    catchUpAll(hub);
    expect(rec.syncs).toHaveLength(2);
    txn(behind, (t) => t.put(b('k1'), b('live'), 0n)); // 13
    for (const watcher of [single, prefix]) {
      const matcher = (name: string): boolean => watcher.matches(name);
      const restored = behind.changesSince(7, matcher, Infinity, Infinity).events.map(full);
      expect(restored.slice(0, -1)).toEqual(ahead.changesSince(7, matcher, Infinity, Infinity).events.map(full));
      expectWholeRevisionsInOrder(behind, rec, watcher, 7);
      expect(rec.deliveries.filter((d) => d.watcher === watcher).pop()?.revision).toBe(13);
    }
    expect(rec.revisions(prefix).flat()[0]).toBe(7);
  });

  it('a watcher that had refused before the restore resumes from its own missed revision', async () => {
    const behind = await openStore();
    const ahead = await openStore();
    const hub = new WatchHub(behind);
    const rec = new Recorder();
    const watcher = watchPrefix(hub, rec, 'k');
    history([behind, ahead], 0, 2); // 2, 3 delivered
    rec.accepting = false;
    history([behind, ahead], 2, 3); // 4..6 refused: the watcher waits at 4
    history([ahead], 5, 4); // ahead at 10
    await installCopy(ahead, behind);
    rec.accepting = true;
    catchUpAll(hub);
    expectWholeRevisionsInOrder(behind, rec, watcher, 2);
  });

  it('a watcher whose history is gone from the snapshot is canceled as compacted', async () => {
    const behind = await openStore();
    const ahead = await openStore();
    history([behind, ahead], 0, 3); // both at 4
    history([ahead], 3, 5); // ahead at 9
    ahead.compact(7);
    const hub = new WatchHub(behind);
    const rec = new Recorder();
    const watcher = watchKey(hub, rec, 'k1');
    const alsoSynced = watchPrefix(hub, rec, 'k');
    await installCopy(ahead, behind);
    catchUpAll(hub);
    expect(rec.compactions.map((c) => c.compactRevision)).toEqual([7, 7]);
    expect([watcher, alsoSynced].every((w) => rec.compactions.some((c) => c.watcher === w))).toBe(true);
    expect(rec.deliveries).toEqual([]);
    expect(hub.watcherCount).toBe(0);
  });

  it('a watcher registered after the restore is live from the new revision', async () => {
    const store = await openStore();
    const other = await openStore();
    history([other], 0, 4);
    const hub = new WatchHub(store);
    const rec = new Recorder();
    await installCopy(other, store);
    const watcher = watchKey(hub, rec, 'k0');
    expect(watcher.synced).toBe(true);
    put(store, 'k0', 'new');
    expect(rec.events(watcher)).toEqual([['put', 'k0', 'new', 6]]);
  });
});

// ---- bookkeeping ------------------------------------------------------------------------------

describe('cancel and counts', () => {
  it('cancel() stops deliveries, synced or unsynced, and is idempotent', async () => {
    const { store, hub, rec } = await setup();
    put(store, 'a', '0');
    const synced = watchKey(hub, rec, 'a');
    const range = watchPrefix(hub, rec, 'a');
    const behind = watchKey(hub, rec, 'a', 2);
    expect(hub.watcherCount).toBe(3);
    expect(hub.unsyncedCount).toBe(1);
    hub.cancel(synced);
    hub.cancel(range);
    hub.cancel(behind);
    hub.cancel(behind);
    expect(hub.watcherCount).toBe(0);
    expect(hub.unsyncedCount).toBe(0);
    put(store, 'a', '1');
    hub.catchUpOne(behind);
    expect(hub.catchUp()).toBe(false);
    expect(rec.deliveries).toEqual([]);
    expect(rec.syncs).toEqual([]);
  });

  it('watcherCount and unsyncedCount follow watch, refusal, catch-up and cancel', async () => {
    const { store, hub } = await setup();
    const slow = new Recorder();
    const fast = new Recorder();
    const a = watchKey(hub, slow, 'a');
    const p = watchPrefix(hub, slow, 'a');
    watchKey(hub, fast, 'a');
    expect([hub.watcherCount, hub.unsyncedCount]).toEqual([3, 0]);
    slow.accepting = false;
    put(store, 'a', '1');
    expect([hub.watcherCount, hub.unsyncedCount]).toEqual([3, 2]);
    hub.cancel(a);
    expect([hub.watcherCount, hub.unsyncedCount]).toEqual([2, 1]);
    slow.accepting = true;
    expect(hub.catchUp()).toBe(false);
    expect([hub.watcherCount, hub.unsyncedCount]).toEqual([2, 0]);
    expect(hub.isSynced(p)).toBe(true);
    expect(same(slow.deliveries.map((d) => d.watcher), [p])).toBe(true);
  });

  it('watchersMax is enforced with TooManyWatchersError; canceling frees a place', async () => {
    const { store, hub, rec } = await setup({ watchersMax: 3 });
    const first = watchKey(hub, rec, 'a');
    watchPrefix(hub, rec, 'b');
    watchKey(hub, rec, 'c', 1);
    expect(() => watchKey(hub, rec, 'd')).toThrow(TooManyWatchersError);
    expect(hub.watcherCount).toBe(3);
    hub.cancel(first);
    const again = watchKey(hub, rec, 'd');
    expect(hub.watcherCount).toBe(3);
    put(store, 'd', '1');
    expect(rec.events(again)).toEqual([['put', 'd', '1', 2]]);
    try {
      watchKey(hub, rec, 'e');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TooManyWatchersError);
      expect((error as TooManyWatchersError).code).toBe('TOO_MANY_WATCHERS');
    }
  });

  it('a watcher compacted away frees its place', async () => {
    const { store, hub, rec } = await setup({ watchersMax: 1 });
    put(store, 'a', '1');
    put(store, 'a', '2');
    store.compact(3);
    watchKey(hub, rec, 'a', 2);
    hub.catchUp();
    expect(rec.compactions).toHaveLength(1);
    expect(() => watchKey(hub, rec, 'a')).not.toThrow();
  });
});

// ---- changesSince -----------------------------------------------------------------------------

describe('MvccStore.changesSince', () => {
  const any = (): boolean => true;

  async function sample(): Promise<MvccStore> {
    const store = await openStore();
    put(store, 'a', '1'); // 2
    txn(store, (t) => {
      t.put(b('b'), b('1'), 0n);
      t.put(b('c'), b('1'), 0n);
      t.put(b('a'), b('2'), 0n);
    }); // 3
    del(store, 'a'); // 4
    put(store, 'a', '3'); // 5
    del(store, 'b', ALL); // 6: b, c
    put(store, 'b', '2'); // 7
    return store;
  }

  it('returns every change from a revision, in revision and sub-revision order, up to the current revision', async () => {
    const store = await sample();
    const changes = store.changesSince(3, any, 100, 100);
    expect(changes.scannedTo).toBe(7);
    expect(changes.events.map(short)).toEqual([
      ['put', 'b', '1', 3],
      ['put', 'c', '1', 3],
      ['put', 'a', '2', 3],
      ['delete', 'a', '', 4],
      ['put', 'a', '3', 5],
      ['delete', 'b', '', 6],
      ['delete', 'c', '', 6],
      ['put', 'b', '2', 7],
    ]);
  });

  it('prevKv across a delete and recreate: a put after a delete has none, a delete has the last put', async () => {
    const store = await sample();
    const events = store.changesSince(2, (name) => name === 'a', 100, 100).events.map(full);
    expect(events).toEqual([
      { type: 'put', kv: ['a', '1', 2, 2, 1], prev: undefined },
      { type: 'put', kv: ['a', '2', 2, 3, 2], prev: ['a', '1', 2, 2, 1] },
      { type: 'delete', kv: ['a', '', 0, 4, 0], prev: ['a', '2', 2, 3, 2] },
      { type: 'put', kv: ['a', '3', 5, 5, 1], prev: undefined },
    ]);
  });

  it('history events equal the live events of the same revisions', async () => {
    const store = await openStore();
    const hub = new WatchHub(store);
    const rec = new Recorder();
    watchRange(hub, rec, 'a', ALL);
    put(store, 'a', '1');
    txn(store, (t) => {
      t.put(b('a'), b('2'), 0n);
      t.put(b('a'), b('3'), 0n);
      t.deleteRange(b('a'), NONE);
      t.put(b('a'), b('4'), 0n);
      t.put(b('b'), b('1'), 0n);
    });
    del(store, 'a', ALL);
    expect(store.changesSince(1, any, 100, 100).events.map(full)).toEqual(rec.deliveries.flatMap((d) => d.events.map(full)));
  });

  it('stops after whole revisions once eventsMax events were found', async () => {
    const store = await sample();
    const first = store.changesSince(2, any, 2, 100);
    expect(first.events.map((e) => e.kv.modRevision)).toEqual([2, 3, 3, 3]);
    expect(first.scannedTo).toBe(3);
    const second = store.changesSince(first.scannedTo + 1, any, 2, 100);
    expect(second.events.map((e) => e.kv.modRevision)).toEqual([4, 5]);
    expect(second.scannedTo).toBe(5);
  });

  it('stops after whole revisions once scanMax records were looked at, matching or not', async () => {
    const store = await sample();
    const changes = store.changesSince(2, (name) => name === 'c', 100, 2);
    expect(changes.events.map(short)).toEqual([['put', 'c', '1', 3]]);
    expect(changes.scannedTo).toBe(3);
    const nothing = store.changesSince(4, (name) => name === 'c', 100, 1);
    expect(nothing.events).toEqual([]);
    expect(nothing.scannedTo).toBe(4);
  });

  it('a revision bigger than both limits comes whole', async () => {
    const store = await sample();
    const changes = store.changesSince(3, any, 1, 1);
    expect(changes.events.map((e) => s(e.kv.key))).toEqual(['b', 'c', 'a']);
    expect(changes.scannedTo).toBe(3);
  });

  it('walking with tiny limits yields exactly the unlimited answer', async () => {
    const store = await sample();
    const all = store.changesSince(1, any, Infinity, Infinity).events.map(full);
    const walked: unknown[] = [];
    for (let from = 1, steps = 0; from <= store.revision && steps < 100; steps++) {
      const changes = store.changesSince(from, any, 1, 1);
      expect(changes.scannedTo).toBeGreaterThanOrEqual(from);
      walked.push(...changes.events.map(full));
      from = changes.scannedTo + 1;
    }
    expect(walked).toEqual(all);
  });

  it('from beyond the current revision: nothing, scanned to the current revision', async () => {
    const store = await sample();
    expect(store.changesSince(8, any, 10, 10)).toEqual({ events: [], scannedTo: 7 });
  });

  it('throws CompactedRevisionError below the compacted revision, and answers at it', async () => {
    const store = await sample();
    store.compact(5);
    expect(() => store.changesSince(4, any, 100, 100)).toThrow(CompactedRevisionError);
    try {
      store.changesSince(2, any, 100, 100);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CompactedRevisionError);
      expect((error as CompactedRevisionError).compactedRevision).toBe(5);
    }
    const changes = store.changesSince(5, any, 100, 100);
    expect(changes.events.map(short)).toEqual([
      ['put', 'a', '3', 5],
      ['delete', 'b', '', 6],
      ['delete', 'c', '', 6],
      ['put', 'b', '2', 7],
    ]);
    expect(changes.events[0].prevKv).toBeUndefined();
    expect(changes.events[1].prevKv && s(changes.events[1].prevKv.value)).toBe('1');
  });

  it('the same history after a restore from a snapshot', async () => {
    const store = await sample();
    const copy = await openStore();
    await installCopy(store, copy);
    expect(copy.changesSince(2, any, 100, 100).events.map(full)).toEqual(store.changesSince(2, any, 100, 100).events.map(full));
  });
});

// ---- scale ------------------------------------------------------------------------------------

describe('10,000 watchers on one member', () => {
  it('10k single-key and 10k prefix watchers each get exactly their events over 100 revisions', async () => {
    const { store, hub } = await setup();
    const N = 10_000;
    const perWatcher = new Map<Watcher, Array<[string, number]>>();
    const receiver: WatchReceiver = {
      deliver(watcher, events, revision) {
        let list = perWatcher.get(watcher);
        if (list === undefined) perWatcher.set(watcher, (list = []));
        for (const event of events) {
          expect(event.kv.modRevision).toBe(revision);
          list.push([s(event.kv.key), revision]);
        }
        return true;
      },
      compacted: () => expect.unreachable(),
      synced: () => undefined,
    };
    const singles: Watcher[] = [];
    const prefixes: Watcher[] = [];
    for (let i = 0; i < N; i++) singles.push(watchKey(hub, receiver, `k${i}`));
    for (let i = 0; i < N; i++) prefixes.push(watchPrefix(hub, receiver, `p${i}/`));
    expect(hub.watcherCount).toBe(2 * N);
    expect(hub.unsyncedCount).toBe(0);

    const expectedSingle = new Map<number, Array<[string, number]>>();
    const expectedPrefix = new Map<number, Array<[string, number]>>();
    const add = (map: Map<number, Array<[string, number]>>, i: number, key: string, revision: number): void => {
      let list = map.get(i);
      if (list === undefined) map.set(i, (list = []));
      list.push([key, revision]);
    };
    for (let r = 0; r < 100; r++) {
      const revision = store.revision + 1;
      txn(store, (t) => {
        for (let m = 0; m < 3; m++) {
          const i = (r * 397 + m * 2003) % N;
          t.put(b(`k${i}`), b(`${r}`), 0n);
          add(expectedSingle, i, `k${i}`, revision);
          const j = (r * 131 + m * 977) % N;
          const key = `p${j}/${m}`;
          t.put(b(key), b(`${r}`), 0n);
          add(expectedPrefix, j, key, revision);
        }
        t.put(b('unwatched'), b(`${r}`), 0n);
      });
    }
    for (let i = 0; i < N; i++) {
      expect(perWatcher.get(singles[i]) ?? []).toEqual(expectedSingle.get(i) ?? []);
      expect(perWatcher.get(prefixes[i]) ?? []).toEqual(expectedPrefix.get(i) ?? []);
    }
    expect(perWatcher.size).toBe(expectedSingle.size + expectedPrefix.size);
    for (const watcher of singles.slice(0, 5000)) hub.cancel(watcher);
    expect(hub.watcherCount).toBe(2 * N - 5000);
  });
});
