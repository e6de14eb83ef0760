// What a member shows under /metrics (src/metrics): its gauges read its state when scraped, and the
// few events the member itself sees (a new leader, a late heartbeat) are counted here, so that the
// member's own file only calls in. A process normally runs one member; a second one started in
// the same process (tests) takes the gauges over until it stops.

import { collectProcessMetrics, enableExtensiveGrpcMetrics, heartbeatSendFailures, idLabel, leaderChangesSeen, peerLinks, serverState, storeState } from '../metrics/index.js';
import type { MvccStore } from '../mvcc/mvcc-store.js';
import type { WatchHub } from '../mvcc/watch-hub.js';
import { MessageType, type Message, type RawNode } from '../raft/index.js';
import type { PeerTransport } from '../transport/index.js';
import type { ServerConfig } from './config.js';
import type { KvFront } from './kv-front.js';
import type { Leadership } from './leadership.js';
import type { Proposals } from './proposals.js';

export interface MemberMetricsParts {
  readonly memberId: number;
  readonly config: Pick<ServerConfig, 'quotaBackendBytes' | 'heartbeatIntervalMs' | 'metrics'>;
  readonly node: RawNode;
  readonly store: MvccStore;
  readonly watchHub: WatchHub;
  readonly proposals: Proposals;
  readonly kv: KvFront;
  readonly transport: PeerTransport;
  readonly leadership: Leadership;
}

export class MemberMetrics {
  private readonly unbind: Array<() => void>;
  private readonly heartbeats: HeartbeatWatch;
  /** The leader the member last knew of (0: none), for etcd_server_leader_changes_seen_total. */
  private lastLeaderId = 0;

  constructor(parts: MemberMetricsParts) {
    const { node, store, watchHub, proposals, kv, transport } = parts;
    collectProcessMetrics();
    if (parts.config.metrics === 'extensive') enableExtensiveGrpcMetrics();
    this.heartbeats = new HeartbeatWatch(2 * parts.config.heartbeatIntervalMs);
    this.unbind = [
      // Called on every change of the core's soft state (member.ts, onLeaderChange) and on stop.
      parts.leadership.subscribe(() => this.leaderChanged(node.leaderId())),
      serverState.bind({
        memberIdHex: idLabel(parts.memberId),
        quotaBackendBytes: parts.config.quotaBackendBytes,
        hasLeader: () => node.leaderId() !== 0,
        isLeader: () => node.isLeader(),
        isLearner: () => node.isLearner(),
        committedIndex: () => node.committedIndex(),
        appliedIndex: () => store.appliedIndex,
        pendingProposals: () => proposals.pendingCount,
      }),
      storeState.bind({
        // Measured every second for the quota check already (kv-front.ts): no stat() per scrape.
        dbSizeBytes: () => kv.measuredStoreBytes,
        keys: () => store.keyCount,
        watchers: () => watchHub.watcherCount,
        slowWatchers: () => watchHub.unsyncedCount,
        currentRevision: () => store.revision,
        compactRevision: () => store.compactedRevision,
      }),
      peerLinks.bind({
        localId: parts.memberId,
        links: () => Object.entries(transport.stats()).map(([id, stats]) => ({ peerId: Number(id), active: stats.connected })),
      }),
    ];
  }

  /** The core's soft state changed: count a new leader as etcd does (a change to a leader, not to none). */
  private leaderChanged(leaderId: number): void {
    if (leaderId !== 0 && leaderId !== this.lastLeaderId) leaderChangesSeen.inc();
    this.lastLeaderId = leaderId;
    // Heartbeat gaps count from this leadership's first heartbeat on, as etcd resets its detector.
    this.heartbeats.reset();
  }

  /** Messages leaving this member: the leader's heartbeats are checked for lateness. */
  sending(messages: readonly Message[]): void {
    for (const message of messages) if (message.type === MessageType.Heartbeat) this.heartbeats.sent(message.to, performance.now());
  }

  stop(): void {
    for (const unbind of this.unbind) unbind();
  }
}

/**
 * etcd's heartbeat send failure: the leader sent a follower its heartbeat more than twice the
 * heartbeat interval after the previous one (etcd's timeout detector in its Raft loop), which
 * means this process was too busy (a slow disk, a long pause) to send it on time.
 */
export class HeartbeatWatch {
  private readonly lastSentMs = new Map<number, number>();

  constructor(private readonly lateAfterMs: number) {}

  sent(peerId: number, nowMs: number): void {
    const last = this.lastSentMs.get(peerId);
    if (last !== undefined && nowMs - last > this.lateAfterMs) heartbeatSendFailures.inc();
    this.lastSentMs.set(peerId, nowMs);
  }

  reset(): void {
    this.lastSentMs.clear();
  }
}
