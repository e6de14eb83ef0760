import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, message, type Message } from '../../src/raft/index.js';
import { startMember, stopAll, unusedPort, waitFor } from './harness.js';

afterEach(stopAll);

function heartbeat(from: number, to: number, commit: number): Message {
  return message({ type: MessageType.Heartbeat, from, to, term: 2, commit });
}

describe('peer failures', () => {
  it.each(['an unused port', 'a stopped transport'] as const)(
    'a dead peer at %s blocks no live peer, is reported unreachable and has its overflow dropped',
    async (deadKind) => {
      const a = await startMember({ memberId: 1, queueMessagesMax: 10 });
      const b = await startMember({ memberId: 2 });
      let deadUrl = `http://127.0.0.1:${await unusedPort()}`;
      if (deadKind === 'a stopped transport') {
        const c = await startMember({ memberId: 3 });
        deadUrl = c.url;
        await c.transport.stop();
      }
      a.transport.addPeer(2, [b.url]);
      a.transport.addPeer(3, [deadUrl]);

      for (let i = 0; i < 25; i++) a.transport.send([heartbeat(1, 3, i), ...(i % 5 === 0 ? [heartbeat(1, 2, i)] : [])]);

      await waitFor(() => b.received().length === 5, 'the live peer to get its 5 messages');
      expect(b.received().map((m) => m.commit)).toEqual([0, 5, 10, 15, 20]);
      await waitFor(() => a.seen.unreachable.includes(3), 'the dead peer to be reported unreachable');
      expect(a.seen.unreachable).not.toContain(2);
      expect(a.transport.stats()[3]).toEqual({ sent: 0, dropped: 15, connected: false });
      expect(a.transport.stats()[2]).toEqual({ sent: 5, dropped: 0, connected: true });
    },
  );

  it('reconnects to a restarted peer and delivers again, including what waited in the queue', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [b.url]);
    a.transport.send([heartbeat(1, 2, 1)]);
    await waitFor(() => b.received().length === 1, 'the first message');

    await b.transport.stop();
    await waitFor(() => !a.transport.stats()[2]!.connected && a.seen.unreachable.includes(2), 'the loss to be noticed');
    a.transport.send([heartbeat(1, 2, 2)]);

    const restarted = await startMember({ memberId: 2 }, b.port);
    await waitFor(() => restarted.received().length === 1, 'the queued message after the restart');
    a.transport.send([heartbeat(1, 2, 3)]);
    await waitFor(() => restarted.received().length === 2, 'a new message after the restart');
    expect(restarted.received().map((m) => m.commit)).toEqual([2, 3]);
    expect(a.transport.stats()[2]!.connected).toBe(true);
  });

  it('dials a peer back as soon as it dials in, instead of waiting out the reconnect backoff (a member started after MemberAdd)', async () => {
    // Backoffs of 10 minutes: only the peer's own dial-in can bring the stream up within the test.
    const tenMinutesMs = 600_000;
    const a = await startMember({ memberId: 1, reconnectDelayMs: { initial: tenMinutesMs, max: tenMinutesMs } });
    const port = await unusedPort();
    a.transport.addPeer(2, [`http://127.0.0.1:${port}`]);
    await waitFor(() => a.seen.unreachable.includes(2), 'the first dial to fail (nothing listens yet)');
    expect(a.transport.stats()[2]!.connected).toBe(false);

    // The peer starts where a dialed, and dials a (its own backoff is the harness's short one).
    const b = await startMember({ memberId: 2 }, port);
    b.transport.addPeer(1, [a.url]);
    await waitFor(() => a.transport.stats()[2]!.connected, "a's stream to the peer that dialed in", 20_000);
    a.transport.send([heartbeat(1, 2, 7)]);
    await waitFor(() => b.received().length === 1, 'a message over the stream dialed back');
    expect(b.received().map((m) => m.commit)).toEqual([7]);
  });

  it('drops what waited longer than queuedMessageMaxAgeMs for a dead peer instead of delivering it late', async () => {
    const a = await startMember({ memberId: 1, queuedMessageMaxAgeMs: 100 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [b.url]);
    a.transport.send([heartbeat(1, 2, 1)]);
    await waitFor(() => b.received().length === 1, 'the first message');
    await b.transport.stop();
    await waitFor(() => !a.transport.stats()[2]!.connected, 'the loss to be noticed');
    a.transport.send([heartbeat(1, 2, 2)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const restarted = await startMember({ memberId: 2 }, b.port);
    await waitFor(() => a.transport.stats()[2]!.connected, 'the reconnection');
    a.transport.send([heartbeat(1, 2, 3)]);
    await waitFor(() => restarted.received().length >= 1, 'a new message after the restart');
    expect(restarted.received().map((m) => m.commit)).toEqual([3]);
    expect(a.transport.stats()[2]!.dropped).toBeGreaterThanOrEqual(1);
  });

  it('refuses a peer from another cluster: none of its messages or snapshots arrive', async () => {
    const a = await startMember({ memberId: 1, clusterId: 7 });
    const b = await startMember({ memberId: 2, clusterId: 8 });
    a.transport.addPeer(2, [b.url]);
    a.transport.send([heartbeat(1, 2, 1)]);
    a.transport.send([message({ type: MessageType.Snap, from: 1, to: 2, term: 2, snapshot: { metadata: { index: 5, term: 2, confState: { voters: [1, 2], learners: [] } }, data: new Uint8Array(10) } })]);

    // Several refused attempts: the stream was retried and refused each time.
    await waitFor(() => a.seen.unreachable.filter((id) => id === 2).length >= 3, 'repeated refusals');
    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome');
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 2, ok: false }]);
    expect(b.received()).toEqual([]);
    expect(a.transport.stats()[2]).toMatchObject({ connected: false, sent: 0 });
    expect(b.seen.warnings.some((w) => w.includes('cluster id mismatch'))).toBe(true);
  });

  it('refuses a stream meant for another member (a peer URL pointing at the wrong member)', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(3, [b.url]);
    a.transport.send([heartbeat(1, 3, 1)]);
    await waitFor(() => a.seen.unreachable.filter((id) => id === 3).length >= 2, 'repeated refusals');
    expect(b.received()).toEqual([]);
    expect(b.seen.warnings.some((w) => w.includes('member id mismatch'))).toBe(true);
  });
});
