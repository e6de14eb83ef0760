// Checks a recorded watch stream against the store's authoritative event history, with the guarantees
// etcd's robustness tests define: ordered, unique, atomic, reliable, bookmarkable (progress
// notifications), exact (kv and prev_kv), filtered, canceled on compaction, and starting at the
// requested revision. Pure and dependency-free, so the integration and fault-injection suites can feed
// it whatever they recorded; every violation names the watcher, the revision, what was expected and
// what was seen, because these failures come from random runs that are hard to reproduce.

export interface KvSnapshot {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

/** For a delete, kv is etcd's tombstone: modRevision = the deleting revision, empty value, version 0, createRevision 0. */
export interface HistoryEvent {
  type: 'put' | 'delete';
  key: string;
  revision: number;
  kv: KvSnapshot;
  prevKv?: KvSnapshot;
}

export interface WatchResponseRecord {
  headerRevision: number;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  /** As received, in order. */
  events: HistoryEvent[];
}

export interface WatchRecording {
  /** Used in messages, e.g. "member m2 watcher 1". */
  name: string;
  /** etcd range semantics: rangeEnd '' = just key; '\0' = every key >= key; else [key, rangeEnd) as byte strings. */
  key: string;
  rangeEnd: string;
  /** 0 = from the revision after creation: the first expected revision is the created response's header revision + 1. */
  startRevision: number;
  prevKv: boolean;
  filters: { noPut: boolean; noDelete: boolean };
  responses: WatchResponseRecord[];
}

export interface AcknowledgedPut {
  key: string;
  value: string;
  /** The put response's header revision. */
  revision: number;
}

/** Violations of the watch guarantees (empty = OK), each prefixed with the recording's name. */
export function checkWatch(recording: WatchRecording, history: HistoryEvent[]): string[] {
  const view = analyse(recording);
  const violations = [
    ...checkStart(view),
    ...checkCancellation(recording),
    ...checkOrdered(view.deliveries),
    ...checkUnique(view.deliveries),
    ...checkAtomic(view.deliveries),
    ...checkProgressBookmarks(recording),
    ...checkReliable(recording, view, history),
    ...checkRangeAndFilters(recording, view.deliveries),
    ...checkExact(recording, view.deliveries, indexHistory(history)),
  ];
  return violations.map((violation) => `${recording.name}: ${violation}`);
}

/**
 * A watcher resumed after `first` ended: it must start right after the last revision `first` delivered,
 * both must pass checkWatch, and no watched event may fall into the seam between them.
 */
export function checkResumable(first: WatchRecording, resumed: WatchRecording, history: HistoryEvent[]): string[] {
  const seam = [...checkSameWatch(first, resumed), ...checkResumeStart(first, resumed), ...checkSeam(first, resumed, history)];
  return [...checkWatch(first, history), ...checkWatch(resumed, history), ...seam.map((violation) => `${first.name} -> ${resumed.name}: ${violation}`)];
}

/**
 * The history itself is consistent (sorted by revision, one event per key and revision, prevKv equal to the
 * replayed state of the key) and holds every put a client saw acknowledged.
 */
export function checkHistoryAgainstWrites(history: HistoryEvent[], acknowledgedPuts: AcknowledgedPut[]): string[] {
  const violations = [
    ...checkHistoryOrder(history),
    ...checkHistoryEvents(history),
    ...checkHistoryPrevKvs(history),
    ...checkAcknowledged(history, acknowledgedPuts),
  ];
  return violations.map((violation) => `history: ${violation}`);
}

// ---- shared helpers ----

interface Delivery {
  event: HistoryEvent;
  response: number;
}

interface Bound {
  revision: number;
  /** Why this bound, for messages. */
  reason: string;
}

interface WatchView {
  deliveries: Delivery[];
  /** null when startRevision is 0 and no created response arrived, so nothing anchors the stream. */
  firstExpected: Bound | null;
  caughtUp: Bound;
}

const KV_FIELDS: ReadonlyArray<keyof KvSnapshot> = ['key', 'value', 'createRevision', 'modRevision', 'version', 'lease'];

function analyse(recording: WatchRecording): WatchView {
  const deliveries = recording.responses.flatMap((response, index) => response.events.map((event) => ({ event, response: index })));
  return { deliveries, firstExpected: firstExpectedRevision(recording), caughtUp: caughtUpRevision(recording) };
}

function firstExpectedRevision(recording: WatchRecording): Bound | null {
  if (recording.startRevision > 0) return { revision: recording.startRevision, reason: `startRevision ${recording.startRevision}` };
  const index = recording.responses.findIndex((response) => response.created);
  if (index < 0) return null;
  const header = recording.responses[index].headerRevision;
  return { revision: header + 1, reason: `startRevision 0, created in response[${index}] at header revision ${header}` };
}

/** The highest revision the watcher has provably seen everything up to: its last event, or a later progress notification. */
function caughtUpRevision(recording: WatchRecording): Bound {
  let bound: Bound = { revision: 0, reason: 'nothing delivered' };
  recording.responses.forEach((response, index) => {
    for (const event of response.events) {
      if (event.revision >= bound.revision) bound = { revision: event.revision, reason: `event in response[${index}]` };
    }
    if (isProgressNotification(response) && response.headerRevision > bound.revision) {
      bound = { revision: response.headerRevision, reason: `progress notification in response[${index}]` };
    }
  });
  return bound;
}

// A compaction notice that forgot to cancel is reported by checkCancellation, not read as a progress promise.
function isProgressNotification(response: WatchResponseRecord): boolean {
  return response.events.length === 0 && !response.created && !response.canceled && response.compactRevision === 0;
}

function isWatched(event: HistoryEvent, recording: WatchRecording): boolean {
  return inRange(event.key, recording) && !isFilteredOut(event, recording);
}

function inRange(key: string, recording: WatchRecording): boolean {
  if (recording.rangeEnd === '') return key === recording.key;
  if (compareBytes(key, recording.key) < 0) return false;
  return recording.rangeEnd === '\0' || compareBytes(key, recording.rangeEnd) < 0;
}

// etcd orders keys as byte strings, which differs from JavaScript's UTF-16 order outside ASCII.
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isFilteredOut(event: HistoryEvent, recording: WatchRecording): boolean {
  return event.type === 'put' ? recording.filters.noPut : recording.filters.noDelete;
}

function describeRange(recording: WatchRecording): string {
  if (recording.rangeEnd === '') return `key ${JSON.stringify(recording.key)}`;
  if (recording.rangeEnd === '\0') return `keys >= ${JSON.stringify(recording.key)}`;
  return `range [${JSON.stringify(recording.key)}, ${JSON.stringify(recording.rangeEnd)})`;
}

function describeEvent(event: HistoryEvent): string {
  return `${event.type} ${JSON.stringify(event.key)} at revision ${event.revision}`;
}

function describeDelivery(delivery: Delivery): string {
  return `${describeEvent(delivery.event)} (response[${delivery.response}])`;
}

// Keys cannot repeat within one revision (etcd rejects a txn that writes a key twice), so this identifies an event.
function eventId(revision: number, key: string): string {
  return `${revision}:${key}`;
}

function indexHistory(history: HistoryEvent[]): Map<string, HistoryEvent> {
  return new Map(history.map((event) => [eventId(event.revision, event.key), event]));
}

/** Field-by-field differences, so a message says exactly which field was wrong. */
function diffKv(label: string, expected: KvSnapshot | undefined, seen: KvSnapshot | undefined): string[] {
  if (expected === undefined && seen === undefined) return [];
  if (expected === undefined) return [`${label} expected none, saw ${JSON.stringify(seen)}`];
  if (seen === undefined) return [`${label} expected ${JSON.stringify(expected)}, saw none`];
  const differing = KV_FIELDS.filter((field) => expected[field] !== seen[field]);
  return differing.map((field) => `${label}.${field} expected ${JSON.stringify(expected[field])}, saw ${JSON.stringify(seen[field])}`);
}

// ---- watch guarantees ----

function checkStart(view: WatchView): string[] {
  const first = view.firstExpected;
  if (first === null) return ['start revision: startRevision is 0 but no created response arrived, so the first expected revision is unknown'];
  const early = view.deliveries.filter((delivery) => delivery.event.revision < first.revision);
  return early.map((delivery) => `start revision: ${describeDelivery(delivery)} is before the first expected revision ${first.revision} (${first.reason})`);
}

function checkCancellation(recording: WatchRecording): string[] {
  const violations: string[] = [];
  let canceledAt = -1;
  recording.responses.forEach((response, index) => {
    if (response.compactRevision !== 0 && !response.canceled) {
      violations.push(`cancel: response[${index}] has compactRevision ${response.compactRevision} but is not canceled`);
    }
    // Events in the canceling response itself are fine; only later ones show the watch kept running.
    if (canceledAt >= 0) {
      const late = response.events.map((event) => `${describeEvent(event)} (response[${index}])`);
      for (const event of late) violations.push(`cancel: ${event} arrived after the watch was canceled in response[${canceledAt}]`);
    }
    if (response.canceled && canceledAt < 0) canceledAt = index;
  });
  return violations;
}

function checkOrdered(deliveries: Delivery[]): string[] {
  const violations: string[] = [];
  let highest: Delivery | undefined;
  for (const delivery of deliveries) {
    if (highest !== undefined && delivery.event.revision < highest.event.revision) {
      const after = `revision ${highest.event.revision} (response[${highest.response}])`;
      violations.push(`ordered: ${describeDelivery(delivery)} arrived after ${after}; revisions must never decrease`);
    } else {
      highest = delivery;
    }
  }
  return violations;
}

function checkUnique(deliveries: Delivery[]): string[] {
  const firstSeen = new Map<string, Delivery>();
  const violations: string[] = [];
  for (const delivery of deliveries) {
    const id = eventId(delivery.event.revision, delivery.event.key);
    const earlier = firstSeen.get(id);
    if (earlier === undefined) firstSeen.set(id, delivery);
    else violations.push(`unique: ${describeDelivery(delivery)} was already delivered in response[${earlier.response}]`);
  }
  return violations;
}

function checkAtomic(deliveries: Delivery[]): string[] {
  const responsesByRevision = new Map<number, Set<number>>();
  for (const { event, response } of deliveries) {
    const responses = responsesByRevision.get(event.revision) ?? new Set<number>();
    responses.add(response);
    responsesByRevision.set(event.revision, responses);
  }
  const split = [...responsesByRevision].filter(([, responses]) => responses.size > 1);
  return split.map(([revision, responses]) => {
    const where = [...responses].map((response) => `response[${response}]`).join(', ');
    return `atomic: revision ${revision} was split across ${where}; all watched events of one revision must arrive in one response`;
  });
}

/** A progress notification at R promises every event <= R was already delivered, so none may follow it. */
function checkProgressBookmarks(recording: WatchRecording): string[] {
  const violations: string[] = [];
  let mark: { response: number; revision: number } | undefined;
  recording.responses.forEach((response, index) => {
    if (isProgressNotification(response)) {
      if (mark === undefined || response.headerRevision > mark.revision) mark = { response: index, revision: response.headerRevision };
      return;
    }
    for (const event of response.events) {
      if (mark === undefined || event.revision > mark.revision) continue;
      const promise = `progress notification response[${mark.response}] at revision ${mark.revision} promised every event <= ${mark.revision} was delivered`;
      violations.push(`progress: ${describeEvent(event)} (response[${index}]) arrived late; ${promise}`);
    }
  });
  return violations;
}

/** Every watched event between the first expected revision and the caught-up revision was delivered somewhere. */
function checkReliable(recording: WatchRecording, view: WatchView, history: HistoryEvent[]): string[] {
  const first = view.firstExpected;
  if (first === null) return [];
  const delivered = new Set(view.deliveries.map(({ event }) => eventId(event.revision, event.key)));
  const window = `expected every watched event from revision ${first.revision} (${first.reason}) to ${view.caughtUp.revision} (${view.caughtUp.reason})`;
  const missing = history.filter((event) => {
    if (event.revision < first.revision || event.revision > view.caughtUp.revision) return false;
    return isWatched(event, recording) && !delivered.has(eventId(event.revision, event.key));
  });
  return missing.map((event) => `reliable: missing ${describeEvent(event)}; ${window}`);
}

function checkRangeAndFilters(recording: WatchRecording, deliveries: Delivery[]): string[] {
  const violations: string[] = [];
  for (const delivery of deliveries) {
    if (!inRange(delivery.event.key, recording)) {
      violations.push(`range: ${describeDelivery(delivery)} is outside the watched ${describeRange(recording)}`);
    }
    if (isFilteredOut(delivery.event, recording)) {
      const filter = delivery.event.type === 'put' ? 'noPut' : 'noDelete';
      violations.push(`filter: ${describeDelivery(delivery)} was delivered although the watcher set ${filter}`);
    }
  }
  return violations;
}

function checkExact(recording: WatchRecording, deliveries: Delivery[], history: Map<string, HistoryEvent>): string[] {
  const violations: string[] = [];
  for (const delivery of deliveries) {
    const { event } = delivery;
    const expected = history.get(eventId(event.revision, event.key));
    if (expected === undefined) {
      violations.push(`exact: ${describeDelivery(delivery)} is not in the history (no event for that key at that revision)`);
      continue;
    }
    const typeDiff = expected.type === event.type ? [] : [`type expected ${expected.type}, saw ${event.type}`];
    const kvDiff = [...typeDiff, ...diffKv('kv', expected.kv, event.kv)];
    if (kvDiff.length > 0) violations.push(`exact: ${describeDelivery(delivery)}: ${kvDiff.join('; ')}`);
    violations.push(...checkPrevKv(recording, delivery, expected));
  }
  return violations;
}

function checkPrevKv(recording: WatchRecording, delivery: Delivery, expected: HistoryEvent): string[] {
  const seen = delivery.event.prevKv;
  if (!recording.prevKv) {
    if (seen === undefined) return [];
    return [`prev_kv: ${describeDelivery(delivery)} carries prevKv ${JSON.stringify(seen)} but the watcher did not ask for prev_kv`];
  }
  const diff = diffKv('prevKv', expected.prevKv, seen);
  return diff.length === 0 ? [] : [`prev_kv: ${describeDelivery(delivery)}: ${diff.join('; ')}`];
}

// ---- resumption ----

function checkSameWatch(first: WatchRecording, resumed: WatchRecording): string[] {
  const shape = (recording: WatchRecording): string => JSON.stringify([recording.key, recording.rangeEnd, recording.prevKv, recording.filters]);
  if (shape(first) === shape(resumed)) return [];
  return [`resumable: the resumed watcher must watch the same range with the same options; expected ${shape(first)}, saw ${shape(resumed)}`];
}

function checkResumeStart(first: WatchRecording, resumed: WatchRecording): string[] {
  const last = lastDeliveredRevision(first);
  if (last === null) return [`resumable: cannot tell where to resume: ${first.name} has no delivered event and no known first expected revision`];
  if (resumed.startRevision === last.revision + 1) return [];
  return [`resumable: startRevision expected ${last.revision + 1} (${last.reason} + 1), saw ${resumed.startRevision}`];
}

/** The last event's revision, or (when nothing was delivered) the revision before the first expected one. */
function lastDeliveredRevision(recording: WatchRecording): Bound | null {
  const revisions = recording.responses.flatMap((response) => response.events.map((event) => event.revision));
  if (revisions.length > 0) return { revision: Math.max(...revisions), reason: 'last revision delivered by the first watcher' };
  const first = firstExpectedRevision(recording);
  if (first === null) return null;
  return { revision: first.revision - 1, reason: `nothing delivered, first watcher expected revision ${first.revision}` };
}

/** Watched events after what `first` caught up to and before where `resumed` starts were seen by neither. */
function checkSeam(first: WatchRecording, resumed: WatchRecording, history: HistoryEvent[]): string[] {
  const from = caughtUpRevision(first).revision + 1;
  const resumedFirst = firstExpectedRevision(resumed);
  if (resumedFirst === null) return [];
  const lost = history.filter((event) => event.revision >= from && event.revision < resumedFirst.revision && isWatched(event, first));
  const seam = `after revision ${from - 1}, which the first watcher reached, and before the resumed one starts at ${resumedFirst.revision}`;
  return lost.map((event) => `resumable: missing ${describeEvent(event)}: ${seam}`);
}

// ---- history ----

function checkHistoryOrder(history: HistoryEvent[]): string[] {
  const violations: string[] = [];
  const firstIndex = new Map<number, number>();
  history.forEach((event, index) => {
    const previous = history[index - 1];
    if (previous !== undefined && event.revision < previous.revision) {
      const earlier = firstIndex.get(event.revision);
      violations.push(
        earlier === undefined
          ? `${describeEvent(event)} at index ${index} follows revision ${previous.revision}; the history must be sorted by revision`
          : `${describeEvent(event)} at index ${index} is not adjacent to the other events of revision ${event.revision} (first at index ${earlier})`,
      );
    }
    if (!firstIndex.has(event.revision)) firstIndex.set(event.revision, index);
  });
  return violations;
}

// Watch checking matches events by (revision, key), so the history must identify them consistently.
function checkHistoryEvents(history: HistoryEvent[]): string[] {
  const violations: string[] = [];
  const seen = new Map<string, number>();
  history.forEach((event, index) => {
    const id = eventId(event.revision, event.key);
    const earlier = seen.get(id);
    if (earlier !== undefined) violations.push(`${describeEvent(event)} at index ${index} repeats the event at index ${earlier}`);
    else seen.set(id, index);
    const where = `${describeEvent(event)} at index ${index}`;
    if (event.kv.key !== event.key) violations.push(`${where}: kv.key expected ${JSON.stringify(event.key)}, saw ${JSON.stringify(event.kv.key)}`);
    if (event.kv.modRevision !== event.revision) violations.push(`${where}: kv.modRevision expected ${event.revision}, saw ${event.kv.modRevision}`);
  });
  return violations;
}

/** Replays the history; a key's first event is checked only when it creates the key, since the history may start mid-way. */
function checkHistoryPrevKvs(history: HistoryEvent[]): string[] {
  const violations: string[] = [];
  // A key maps to undefined once deleted; keys not yet in the map have an unknown state.
  const state = new Map<string, KvSnapshot | undefined>();
  history.forEach((event, index) => {
    const creates = event.type === 'put' && event.kv.version === 1;
    if (state.has(event.key) || creates) {
      const diff = diffKv('prevKv', state.get(event.key), event.prevKv);
      if (diff.length > 0) violations.push(`${describeEvent(event)} at index ${index} disagrees with the replayed state of the key: ${diff.join('; ')}`);
    }
    state.set(event.key, event.type === 'put' ? event.kv : undefined);
  });
  return violations;
}

function checkAcknowledged(history: HistoryEvent[], acknowledgedPuts: AcknowledgedPut[]): string[] {
  const index = indexHistory(history);
  const violations: string[] = [];
  for (const put of acknowledgedPuts) {
    const acknowledged = `acknowledged put ${JSON.stringify(put.key)} = ${JSON.stringify(put.value)} at revision ${put.revision}`;
    const event = index.get(eventId(put.revision, put.key));
    if (event === undefined) violations.push(`${acknowledged} is missing; ${describeRevision(history, put.revision)}`);
    else if (event.type !== 'put') violations.push(`${acknowledged}: expected a put, the history has a ${event.type}`);
    else if (event.kv.value !== put.value) {
      violations.push(`${acknowledged}: value expected ${JSON.stringify(put.value)}, the history has ${JSON.stringify(event.kv.value)}`);
    }
  }
  return violations;
}

function describeRevision(history: HistoryEvent[], revision: number): string {
  const events = history.filter((event) => event.revision === revision);
  if (events.length === 0) return `the history has no events at revision ${revision}`;
  return `the history has at revision ${revision}: ${events.map((event) => `${event.type} ${JSON.stringify(event.key)}`).join(', ')}`;
}
