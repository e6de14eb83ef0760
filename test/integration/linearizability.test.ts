// Linearizable reads under concurrency and faults. Clients on all three members increment one
// counter with compare-and-swap Txns and read it. The counter only grows, so a read that starts
// after an increment to n was acknowledged must see at least n; any read below that is stale.
// Mid-run, the traffic the others send to one member is cut (it keeps serving its clients, but
// learns nothing new: exactly when a read served from local state would be stale), then restored;
// then a member is frozen with SIGSTOP and resumed. Reads may fail or wait, never go stale.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, call, eventually, freePort, type MemberProcess } from './harness.js';
import { PeerProxy } from './proxy.js';

let cluster: TestCluster;
let proxy: PeerProxy;

beforeAll(async () => {
  cluster = await TestCluster.start(3, [], null, async (members) => {
    const isolated = members[1];
    isolated.advertisedPeerPort = await freePort();
    proxy = await PeerProxy.start(isolated.advertisedPeerPort, isolated.peerPort);
  });
}, 60_000);
afterAll(async () => {
  for (const member of cluster.members) member.process?.kill('SIGCONT');
  await cluster.stop();
  await proxy.close();
});

const KEY = Buffer.from('linearizable/counter');
/** Generous: only a cluster that stopped serving altogether takes this long to make progress. */
const PROGRESS_TIMEOUT_MS = 30_000;

interface Read {
  readonly value: number;
  readonly startedAt: number;
}
interface Write {
  readonly value: number;
  readonly ackedAt: number;
}

async function readCounter(member: MemberProcess): Promise<number> {
  const response = await call(cluster.client(member), 'Range', { key: KEY }, 3000);
  return response.kvs.length === 0 ? 0 : Number(response.kvs[0].value.toString());
}

async function increment(member: MemberProcess, from: number): Promise<boolean> {
  const expected = from === 0 ? { target: 0, result: 0, version: 0 } : { target: 3, result: 0, value: Buffer.from(String(from)) };
  const response = await call(cluster.client(member), 'Txn', { compare: [{ key: KEY, ...expected }], success: [{ request_put: { key: KEY, value: Buffer.from(String(from + 1)) } }] }, 3000);
  return response.succeeded === true;
}

describe('linearizability', () => {
  it('never serves a stale read, with concurrent CAS writers, a member cut off, and one paused', async () => {
    const reads: Read[] = [];
    const writes: Write[] = [];
    let running = true;
    const client = async (member: MemberProcess): Promise<void> => {
      while (running) {
        const startedAt = performance.now();
        try {
          const value = await readCounter(member);
          reads.push({ value, startedAt });
          if (await increment(member, value)) writes.push({ value: value + 1, ackedAt: performance.now() });
        } catch {
          // a paused or lagging member times out; that is allowed, staleness is not
        }
      }
    };
    // Not vacuous, and not a rate: before each fault and after the last, the clients get an
    // increment acknowledged and a read started after it answered, however long that takes.
    const progress = async (when: string): Promise<void> => {
      const sinceMs = performance.now();
      await eventually(`an acknowledged increment and a read ${when}`, async () => {
        const acknowledged = writes.find((write) => write.ackedAt > sinceMs);
        if (acknowledged === undefined || !reads.some((read) => read.startedAt > acknowledged.ackedAt)) throw new Error('not yet');
      }, PROGRESS_TIMEOUT_MS);
    };
    const clients = cluster.members.flatMap((member) => [client(member), client(member)]);
    await progress('before the cut');
    proxy.block();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    proxy.unblock();
    await progress('after the cut');
    const paused = cluster.members[2];
    paused.process?.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    paused.process?.kill('SIGCONT');
    await progress('after the pause');
    running = false;
    await Promise.all(clients);
    // Every acknowledged increment produced a distinct value: CAS lost no update and doubled none.
    expect(new Set(writes.map((w) => w.value)).size).toBe(writes.length);
    const stale = reads.filter((read) => writes.some((write) => write.ackedAt < read.startedAt && write.value > read.value));
    expect(stale).toEqual([]);
    const final = await readCounter(cluster.members[0]);
    expect(final).toBe(Math.max(...writes.map((w) => w.value)));
  }, 60_000);
});
