// etcd 3.4's etcd_server_* metrics (its etcdserver/metrics.go): names, types, help and labels as a
// real etcd 3.4 prints them. Gauges read the bound member's state when scraped; counters are
// bumped where the event happens (each is rare: a leader change, a failed proposal, a slow apply).

import { Counter, Gauge } from 'prom-client';
import { Binding } from './cells.js';
import { registry } from './registry.js';

/** What the member tells its gauges, read at scrape time. */
export interface ServerStateSource {
  /** The member's id, in hex as etcd prints it. */
  readonly memberIdHex: string;
  readonly quotaBackendBytes: number;
  hasLeader(): boolean;
  isLeader(): boolean;
  isLearner(): boolean;
  /** The Raft committed index (etcd's proposals_committed_total is this gauge). */
  committedIndex(): number;
  /** The Raft index applied to the store. */
  appliedIndex(): number;
  /** Proposals waiting for their entry to apply on this member. */
  pendingProposals(): number;
}

export const serverState = new Binding<ServerStateSource>();

function gauge(name: string, help: string, read: (source: ServerStateSource) => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect(this: Gauge) {
      const source = serverState.current;
      this.set(source === null ? 0 : read(source));
    },
  });
}

gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', (s) => (s.hasLeader() ? 1 : 0));
gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', (s) => (s.isLeader() ? 1 : 0));
gauge('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', (s) => (s.isLearner() ? 1 : 0));
gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', (s) => s.committedIndex());
gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', (s) => s.appliedIndex());
gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', (s) => s.pendingProposals());
gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', (s) => s.quotaBackendBytes);

new Gauge({
  name: 'etcd_server_id',
  help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
  labelNames: ['server_id'],
  registers: [registry],
  collect(this: Gauge) {
    this.reset();
    const source = serverState.current;
    if (source !== null) this.set({ server_id: source.memberIdHex }, 1);
  },
});

export const leaderChangesSeen = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers: [registry] });

/** A proposal that never applied: dropped for want of a leader, or timed out. */
export const proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers: [registry] });

/** An entry whose apply took longer than SLOW_APPLY_SECONDS. */
export const slowApplies = new Counter({
  name: 'etcd_server_slow_apply_total',
  help: 'The total number of slow apply requests (likely overloaded from slow disk).',
  registers: [registry],
});

/** The leader sent a heartbeat to a follower later than it should have (see HeartbeatWatch). */
export const heartbeatSendFailures = new Counter({
  name: 'etcd_server_heartbeat_send_failures_total',
  help: 'The total number of leader heartbeat send failures (likely overloaded from slow disk).',
  registers: [registry],
});

/** etcd's threshold for a slow apply (its warnApplyDuration): 100 ms. */
export const SLOW_APPLY_SECONDS = 0.1;
