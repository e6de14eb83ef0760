// etcd 3.4's network metrics (its etcdserver/api/rafthttp/metrics.go and the client byte counters
// of etcdserver/api/v3rpc/metrics.go): peer traffic by peer, peer round trips, active peers.
// Peer ids are labelled as etcd prints them: hex without leading zeros.

import { Gauge, Histogram } from 'prom-client';
import { Binding, CounterFamily, type CounterCell } from './cells.js';
import { exponentialBuckets } from './etcd-disk.js';
import { registry } from './registry.js';

/** A member id as etcd's labels write it (types.ID's String: hex, no padding). */
export function idLabel(id: number): string {
  return id.toString(16);
}

const peerSentBytes = new CounterFamily('etcd_network_peer_sent_bytes_total', 'The total number of bytes sent to peers.', ['To']);
const peerReceivedBytes = new CounterFamily('etcd_network_peer_received_bytes_total', 'The total number of bytes received from peers.', ['From']);
const peerSentFailures = new CounterFamily('etcd_network_peer_sent_failures_total', 'The total number of send failures from peers.', ['To']);
const disconnectedPeers = new CounterFamily('etcd_network_disconnected_peers_total', 'The total number of disconnected peers.', ['Local', 'Remote']);

const roundTripSeconds = new Histogram({
  name: 'etcd_network_peer_round_trip_time_seconds',
  help: 'Round-Trip-Time histogram between peers',
  labelNames: ['To'],
  buckets: exponentialBuckets(0.0001, 2, 16),
  registers: [registry],
});

/** What a peer link counts, found once per peer and kept by it. */
export interface PeerCells {
  readonly sentBytes: CounterCell;
  readonly sentFailures: CounterCell;
  readonly disconnected: CounterCell;
  /** Records one measured round trip to the peer (a few per minute: prom-client's own path). */
  observeRoundTrip(seconds: number): void;
}

export function peerCells(localId: number, peerId: number): PeerCells {
  const to = idLabel(peerId);
  const child = roundTripSeconds.labels(to);
  return {
    sentBytes: peerSentBytes.cell(to),
    sentFailures: peerSentFailures.cell(to),
    disconnected: disconnectedPeers.cell(idLabel(localId), to),
    observeRoundTrip: (seconds) => child.observe(seconds),
  };
}

/** Bytes received from the peer `fromId`: find once per inbound stream, add to `value`. */
export function peerReceivedCell(fromId: number): CounterCell {
  return peerReceivedBytes.cell(idLabel(fromId));
}

/** Each peer link of the bound member, and whether it is up now. */
export interface PeerLinkSource {
  readonly localId: number;
  links(): Iterable<{ readonly peerId: number; readonly active: boolean }>;
}

export const peerLinks = new Binding<PeerLinkSource>();

new Gauge({
  name: 'etcd_network_active_peers',
  help: 'The current number of active peer connections.',
  labelNames: ['Local', 'Remote'],
  registers: [registry],
  collect(this: Gauge) {
    this.reset();
    const source = peerLinks.current;
    if (source === null) return;
    const local = idLabel(source.localId);
    for (const link of source.links()) this.set({ Local: local, Remote: idLabel(link.peerId) }, link.active ? 1 : 0);
  },
});

const clientReceivedBytes = new CounterFamily('etcd_network_client_grpc_received_bytes_total', 'The total number of bytes received from grpc clients.');
const clientSentBytes = new CounterFamily('etcd_network_client_grpc_sent_bytes_total', 'The total number of bytes sent to grpc clients.');

/** Request bytes from clients: add to `value` as each message is decoded. */
export const clientGrpcReceivedBytes: CounterCell = clientReceivedBytes.cell();
/** Response bytes to clients: add to `value` as each message is encoded. */
export const clientGrpcSentBytes: CounterCell = clientSentBytes.cell();
