// The transport's etcd_network_* series, read from the process's registry around real peer traffic
// between two transports over loopback (both in this process: member 1 sends, member 2 receives).

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, message } from '../../src/raft/index.js';
import { renderMetrics } from '../../src/metrics/index.js';
import { parseExposition, samplesOf, valueOf, type Exposition } from '../support/prometheus-text.js';
import { startMember, stopAll, unusedPort, waitFor } from './harness.js';

afterEach(stopAll);

async function metrics(): Promise<Exposition> {
  return parseExposition((await renderMetrics()).body);
}

/** A counter's value, 0 while it has no series yet. */
function counter(exposition: Exposition, name: string, labels: Record<string, string>): number {
  return samplesOf(exposition, name, labels).length === 0 ? 0 : valueOf(exposition, name, labels);
}

describe('peer metrics', () => {
  it('counts the bytes of messages and of a snapshot body on both sides, and a round trip to the peer', async () => {
    const before = await metrics();
    const a = await startMember({ memberId: 0x1a });
    const b = await startMember({ memberId: 0x2b });
    a.transport.addPeer(0x2b, [b.url]);
    const heartbeat = message({ type: MessageType.Heartbeat, from: 0x1a, to: 0x2b, term: 3, commit: 1 });
    a.transport.send([heartbeat]);
    await waitFor(() => b.received().length === 1, 'the heartbeat');
    const data = randomBytes(256 * 1024);
    a.transport.send([message({ type: MessageType.Snap, from: 0x1a, to: 0x2b, term: 3, snapshot: { metadata: { index: 9, term: 3, confState: { voters: [0x1a, 0x2b], learners: [] } }, data } })]);
    await waitFor(() => a.seen.snapshotStatuses.length === 1, 'the snapshot outcome');
    expect(a.seen.snapshotStatuses).toEqual([{ peer: 0x2b, ok: true }]);

    let after = await metrics();
    const sent = counter(after, 'etcd_network_peer_sent_bytes_total', { To: '2b' }) - counter(before, 'etcd_network_peer_sent_bytes_total', { To: '2b' });
    const received = counter(after, 'etcd_network_peer_received_bytes_total', { From: '1a' }) - counter(before, 'etcd_network_peer_received_bytes_total', { From: '1a' });
    expect(sent).toBeGreaterThan(data.byteLength);
    expect(received).toBeGreaterThan(data.byteLength);
    // The prober's first probe goes out as the stream connects.
    for (let attempt = 0; attempt < 100 && counter(after, 'etcd_network_peer_round_trip_time_seconds_count', { To: '2b' }) === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await metrics();
    }
    expect(counter(after, 'etcd_network_peer_round_trip_time_seconds_count', { To: '2b' })).toBeGreaterThan(0);
    expect(valueOf(after, 'etcd_network_peer_round_trip_time_seconds_sum', { To: '2b' })).toBeGreaterThan(0);
  });

  it('counts send failures to a peer nobody listens for', async () => {
    const before = await metrics();
    const a = await startMember({ memberId: 0x3c });
    a.transport.addPeer(0x4d, [`http://127.0.0.1:${await unusedPort()}`]);
    a.transport.send([message({ type: MessageType.Heartbeat, from: 0x3c, to: 0x4d, term: 3, commit: 1 })]);
    await waitFor(() => a.seen.unreachable.includes(0x4d), 'the peer to be reported unreachable');
    const after = await metrics();
    expect(counter(after, 'etcd_network_peer_sent_failures_total', { To: '4d' })).toBeGreaterThan(counter(before, 'etcd_network_peer_sent_failures_total', { To: '4d' }));
    expect(counter(after, 'etcd_network_peer_sent_bytes_total', { To: '4d' })).toBe(0);
  });
});
