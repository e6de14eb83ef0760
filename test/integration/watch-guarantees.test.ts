// etcd's watch guarantees under a random write load with a leader kill and restart: watchers on
// every member record their streams; at the end every recording is checked against the final
// history (ordered, unique, atomic, reliable, bookmarkable, exact prev_kv, filters), a watcher
// resumed from its last revision + 1 on the restarted member continues exactly, every acknowledged
// put is in the history, and all members hold the same history.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, TestCluster, type MemberProcess } from './harness.js';
import { prefixEnd, readHistory, WatchSession, type WatchSpec } from './watch-client.js';
import { checkHistoryAgainstWrites, checkResumable, checkWatch, type AcknowledgedPut, type WatchRecording } from '../support/watch-checker.js';

const PREFIX = '/g/';
const KEYS = 12;
/** How long the leader stays dead while the writers go on. */
const KILLED_MS = 2000;
/** Acknowledged writes the load reaches before the kill and again after the restart: progress, not a rate. */
const PHASE_WRITES = 50;
/** Generous: only a cluster that stopped taking writes altogether takes this long. */
const PROGRESS_TIMEOUT_MS = 30_000;
const WRITERS = 4;

interface Watched {
  member: MemberProcess;
  session: WatchSession;
  ids: Array<{ id: number; spec: WatchSpec }>;
}

const bytes = (text: string): Buffer => Buffer.from(text);

describe('watch guarantees under load with a leader kill and restart', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start(3, ['--experimental-watch-progress-notify-interval=300ms']);
  }, 30_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  /** Opens a session on `member` with the watcher mix every member gets. */
  async function watchOn(member: MemberProcess, startRevision = 0): Promise<Watched> {
    const session = new WatchSession(cluster.client(member, 'Watch'));
    const specs: WatchSpec[] = [
      { key: PREFIX, rangeEnd: prefixEnd(PREFIX), prevKv: true, progressNotify: true, startRevision },
      { key: `${PREFIX}k3`, prevKv: true, startRevision },
      { key: `${PREFIX}k`, rangeEnd: `${PREFIX}k5`, noDelete: true, startRevision },
      { key: PREFIX, rangeEnd: '\0', noPut: true, prevKv: true, startRevision },
    ];
    const ids = [];
    for (const spec of specs) ids.push({ id: await session.create(spec), spec });
    return { member, session, ids };
  }

  it('holds on every member, and a resumed watch continues exactly', async () => {
    const watched = await Promise.all(cluster.members.map((member) => watchOn(member)));
    const acknowledged: AcknowledgedPut[] = [];
    let sequence = 0;
    let stop = false;

    const writer = async (worker: number): Promise<void> => {
      while (!stop) {
        const member = cluster.members[(worker + sequence) % cluster.members.length];
        if (member.process === null) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        const kv = cluster.client(member);
        const n = sequence++;
        const key = `${PREFIX}k${n % KEYS}`;
        const value = `w${worker}-${n}`;
        const choice = n % 10;
        try {
          if (choice < 6) {
            const response = await call(kv, 'Put', { key: bytes(key), value: bytes(value) }, 3000);
            acknowledged.push({ key, value, revision: Number(response.header.revision) });
          } else if (choice < 8) {
            // Several events in one revision: the atomic guarantee has something to check.
            const second = `${PREFIX}k${(n + 5) % KEYS}`;
            const response = await call(kv, 'Txn', {
              success: [{ request_put: { key: bytes(key), value: bytes(value) } }, { request_put: { key: bytes(second), value: bytes(`${value}b`) } }],
            }, 3000);
            const revision = Number(response.header.revision);
            acknowledged.push({ key, value, revision }, { key: second, value: `${value}b`, revision });
          } else if (choice < 9) {
            await call(kv, 'DeleteRange', { key: bytes(key) }, 3000);
          } else {
            await call(kv, 'DeleteRange', { key: bytes(`${PREFIX}k1`), range_end: bytes(`${PREFIX}k2`) }, 3000);
          }
        } catch {
          // Indeterminate (the member died, or no leader yet): not acknowledged, checked no further.
        }
      }
    };

    const bookmarks = setInterval(() => {
      for (const { session } of watched) session.progress(2000).catch(() => {});
    }, 250);
    /** Waits until `PHASE_WRITES` more writes are acknowledged, however long that takes on this machine. */
    const acknowledgedMore = async (when: string): Promise<void> => {
      const from = acknowledged.length;
      await eventually(`${PHASE_WRITES} acknowledged writes ${when}`, async () => {
        if (acknowledged.length < from + PHASE_WRITES) throw new Error(`${acknowledged.length - from} so far`);
      }, PROGRESS_TIMEOUT_MS);
    };
    const writers = Array.from({ length: WRITERS }, (_, worker) => writer(worker));
    await acknowledgedMore('before the kill');
    const leader = await cluster.waitForLeader();
    await cluster.kill(leader);
    await new Promise((resolve) => setTimeout(resolve, KILLED_MS));
    cluster.launch(leader);
    await cluster.waitForLeader();
    // The restarted member's watchers died with it: resume from the last revision each delivered.
    const killed = watched.find((w) => w.member === leader)!;
    const lastDelivered = Math.max(0, ...killed.session.events(killed.ids[0].id).map((event) => event.revision));
    const resumed = await watchOn(leader, lastDelivered + 1);
    await acknowledgedMore('after the restart');
    stop = true;
    await Promise.all(writers);
    clearInterval(bookmarks);

    // Everyone converges on the final revision; then the history is read from each member.
    const finalRevision = Number((await call(cluster.client(cluster.members[0]), 'Range', { key: bytes(PREFIX) })).header.revision);
    const histories = await Promise.all(cluster.members.map((member) => readHistory(cluster.client(member, 'Watch'), PREFIX, '\0', finalRevision)));
    for (const other of histories.slice(1)) expect(other).toEqual(histories[0]);
    const history = histories[0];
    expect(checkHistoryAgainstWrites(history, acknowledged)).toEqual([]);

    // Live watchers must have caught up to the end before their recordings are judged.
    for (const { session } of [...watched.filter((w) => w !== killed), resumed]) {
      await session.progressUntil(finalRevision);
    }
    const violations: string[] = [];
    const recordingsOf = (w: Watched, label: string): WatchRecording[] => w.ids.map(({ id }) => w.session.recording(id, `${w.member.name} ${label} watcher ${id}`));
    for (const w of watched) for (const recording of recordingsOf(w, 'first')) violations.push(...checkWatch(recording, history));
    for (const recording of recordingsOf(resumed, 'resumed')) violations.push(...checkWatch(recording, history));
    const first = recordingsOf(killed, 'first')[0];
    violations.push(...checkResumable(first, recordingsOf(resumed, 'resumed')[0], history));
    expect(violations).toEqual([]);
    // Not vacuous: the watchers saw the load, and bookmarks arrived.
    for (const w of [...watched, resumed]) expect(w.session.events(w.ids[0].id).length).toBeGreaterThan(0);
    expect(watched[0].session.responses.some((r) => Number(r.watch_id) === -1)).toBe(true);
    for (const w of [...watched, resumed]) w.session.close();
  }, 60_000);
});
