// Membership at runtime with real processes: add a learner that joins with
// --initial-cluster-state existing, promote it, remove an old member (the leader) — while a
// client keeps writing, and the cluster stays writable throughout: after every change, writes
// are acknowledged again (waited for with a generous deadline; how fast is not this test's business).

import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, call, eventually, type MemberProcess } from './harness.js';

/** Generous: only a cluster that stopped taking writes altogether takes this long. */
const PROGRESS_TIMEOUT_MS = 30_000;

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe('runtime membership changes', () => {
  it('adds a learner, promotes it and removes the old leader while staying writable', async () => {
    cluster = await TestCluster.start(3);
    const c = cluster;
    const [, m2, m3] = c.members;
    const leader = await c.waitForLeader();

    // A writer through the members other than the leader, recording which writes were acknowledged.
    let writing = true;
    let written = 0;
    /** The index of every acknowledged write, in order of acknowledgement. */
    const acknowledged: number[] = [];
    const writer = (async () => {
      while (writing) {
        const live = c.members.filter((m) => m.process !== null && m !== leader);
        const index = written;
        const target = live[index % live.length] as MemberProcess;
        try {
          await call(c.client(target), 'Put', { key: Buffer.from(`w/${index}`), value: Buffer.from('x') }, 2000);
          acknowledged.push(index);
        } catch {
          // not acknowledged: writableAfter waits for a later one
        }
        written++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    /** Waits until a write is acknowledged that was sent after this call: the cluster is writable now. */
    const writableAfter = async (change: string): Promise<void> => {
      const sentFrom = written + 1; // `written` may be in flight already, sent before the change
      await eventually(`a write acknowledged after ${change}`, async () => {
        if (!acknowledged.some((index) => index >= sentFrom)) throw new Error(`none of the writes from ${sentFrom} on acknowledged`);
      }, PROGRESS_TIMEOUT_MS);
    };
    await writableAfter('the start');

    const m4 = await c.newMember('m4');
    const added = await call(c.client(m2, 'Cluster'), 'MemberAdd', { peerURLs: [c.peerUrl(m4)], isLearner: true });
    expect(added.member.isLearner).toBe(true);
    const m4Id = Number(added.member.ID);
    expect(added.members).toHaveLength(4);
    await writableAfter('adding the learner');

    await expect(call(c.client(m3, 'Cluster'), 'MemberAdd', { peerURLs: [c.peerUrl(m4)] })).rejects.toMatchObject({
      code: 9,
      details: 'etcdserver: Peer URLs already exists',
    });

    c.launch(m4, ['--initial-cluster-state=existing']);
    // The learner catches up from the leader and serves serializable reads of the data.
    await eventually('the learner catching up', async () => {
      const response = await call(c.client(m4), 'Range', { key: Buffer.from('w/'), range_end: Buffer.from('w0'), serializable: true }, 1000);
      if (response.kvs.length < 5) throw new Error(`only ${response.kvs.length} keys`);
    });

    const promoted = await eventually('the promotion', () => call(c.client(leader, 'Cluster'), 'MemberPromote', { ID: m4Id }));
    expect(promoted.members.find((m: any) => Number(m.ID) === m4Id)?.isLearner).toBe(false);
    await writableAfter('the promotion');

    const leaderId = Number((await call(c.client(leader, 'Maintenance'), 'Status', {})).header.member_id);
    // Asked of the very member being removed: it must still answer before it shuts down.
    const removed = await call(c.client(leader, 'Cluster'), 'MemberRemove', { ID: leaderId });
    expect(removed.members.map((m: any) => Number(m.ID))).not.toContain(leaderId);
    // The removed member shuts itself down.
    await eventually('the removed member exiting', async () => {
      if (leader.process !== null && leader.process.exitCode === null && leader.process.signalCode === null) throw new Error('still running');
    });
    leader.process = null;
    await writableAfter('removing the leader');
    writing = false;
    await writer;

    const list = await call(c.client(m4, 'Cluster'), 'MemberList', { linearizable: true });
    const remaining = ['m1', 'm2', 'm3', 'm4'].filter((name) => name !== leader.name);
    expect(list.members.map((m: any) => m.name).sort()).toEqual(remaining);
    expect(list.members.every((m: any) => m.isLearner === false)).toBe(true);

    // Every acknowledged write is there, on the promoted learner too.
    const stored = await call(c.client(m4), 'Range', { key: Buffer.from('w/'), range_end: Buffer.from('w0') });
    const keys = new Set(stored.kvs.map((kv: any) => kv.key.toString()));
    expect(acknowledged.filter((index) => !keys.has(`w/${index}`))).toEqual([]);
  }, 90_000);
});
