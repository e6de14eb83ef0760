// /metrics on --listen-metrics-urls of real members: etcd 3.4's names with the HELP, TYPE and
// histogram buckets a real etcd 3.4 prints for them, and values that follow what the member does.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, eventually, type TestCluster } from './harness.js';
import { memberIdLabel, metricsUrl, scrapeMember, startClusterWithMetrics, startEtcdWithMetrics, type EtcdWithMetrics } from './metrics-support.js';
import { describeWithBinaries } from '../support/external.js';
import { bucketBounds, parseExposition, scrape, valueOf, type Exposition } from '../support/prometheus-text.js';

/**
 * The issue's list, less grpc_server_* and the client byte counters (test/api/grpc-metrics.test.ts
 * checks those on a served service), with etcd 3.4's etcd_debugging_mvcc_watcher_total for the
 * issue's etcd_mvcc_watcher_total, which no etcd version has.
 */
const SERVER_METRICS = [
  'etcd_server_has_leader', 'etcd_server_is_leader', 'etcd_server_leader_changes_seen_total',
  'etcd_server_proposals_committed_total', 'etcd_server_proposals_applied_total', 'etcd_server_proposals_failed_total',
  'etcd_server_proposals_pending', 'etcd_server_quota_backend_bytes', 'etcd_server_is_learner',
  'etcd_server_slow_apply_total', 'etcd_server_heartbeat_send_failures_total', 'etcd_server_id',
  'etcd_disk_wal_fsync_duration_seconds', 'etcd_disk_backend_commit_duration_seconds',
  'etcd_mvcc_db_total_size_in_bytes', 'etcd_mvcc_db_total_size_in_use_in_bytes', 'etcd_debugging_mvcc_db_total_size_in_bytes',
  'etcd_debugging_mvcc_keys_total', 'etcd_debugging_mvcc_watcher_total', 'etcd_debugging_mvcc_slow_watcher_total',
  'etcd_debugging_mvcc_current_revision', 'etcd_debugging_mvcc_compact_revision',
];
/** Printed by an etcd with peers only: compared with test/fixtures/etcd-3.4-peer-metrics.txt. */
const PEER_METRICS = [
  'etcd_network_peer_sent_bytes_total', 'etcd_network_peer_received_bytes_total', 'etcd_network_peer_sent_failures_total',
  'etcd_network_peer_round_trip_time_seconds', 'etcd_network_active_peers', 'etcd_network_disconnected_peers_total',
];
const HISTOGRAMS = ['etcd_disk_wal_fsync_duration_seconds', 'etcd_disk_backend_commit_duration_seconds'];

describeWithBinaries(['etcd'], '/metrics on --listen-metrics-urls', () => {
  let cluster: TestCluster;
  let etcd: EtcdWithMetrics;
  let etcdMetrics: Exposition;

  beforeAll(async () => {
    [cluster, etcd] = await Promise.all([startClusterWithMetrics(3), startEtcdWithMetrics()]);
    etcdMetrics = (await scrape(etcd.metricsUrl)).exposition;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([cluster?.stop(), etcd?.stop()]);
  });

  it("serves etcd 3.4's server, disk and store metrics with etcd's HELP, TYPE and buckets, and Node's runtime metrics", async () => {
    const { contentType, exposition } = await scrape(metricsUrl(cluster.members[0]!));
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const name of SERVER_METRICS) {
      expect(exposition.type.get(name), `${name} TYPE`).toBe(etcdMetrics.type.get(name));
      expect(exposition.help.get(name), `${name} HELP`).toBe(etcdMetrics.help.get(name));
      expect(etcdMetrics.type.has(name), `etcd prints ${name}`).toBe(true);
    }
    for (const name of HISTOGRAMS) {
      expect(bucketBounds(exposition, name)).toEqual(bucketBounds(etcdMetrics, name));
      expect(bucketBounds(exposition, name)).toHaveLength(15);
    }
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(exposition.type.has(name), name).toBe(true);
    }
  });

  it("serves etcd 3.4's peer metrics as a three-member etcd prints them, labelled by the peer's id", async () => {
    const reference = parseExposition(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'etcd-3.4-peer-metrics.txt'), 'utf8'));
    // The leader and a follower: followers exchange messages with the leader only.
    const first = await cluster.waitForLeader();
    const second = cluster.members.find((member) => member !== first)!;
    const secondId = await memberIdLabel(cluster, second);
    // The round trip prober's first probe goes out as the peer stream connects.
    const exposition = await eventually('a round trip to the second member', async () => {
      const scraped = await scrapeMember(first);
      if (bucketBounds(scraped, 'etcd_network_peer_round_trip_time_seconds', { To: secondId }).length === 0) throw new Error('no round trip yet');
      return scraped;
    });
    for (const name of PEER_METRICS) {
      expect(exposition.type.get(name), `${name} TYPE`).toBe(reference.type.get(name));
      expect(exposition.help.get(name), `${name} HELP`).toBe(reference.help.get(name));
    }
    expect(bucketBounds(exposition, 'etcd_network_peer_round_trip_time_seconds', { To: secondId })).toEqual(
      bucketBounds(reference, 'etcd_network_peer_round_trip_time_seconds', { To: 'PEER' }),
    );
    expect(valueOf(exposition, 'etcd_network_active_peers', { Local: await memberIdLabel(cluster, first), Remote: secondId })).toBe(1);
    expect(valueOf(exposition, 'etcd_network_peer_sent_bytes_total', { To: secondId })).toBeGreaterThan(0);
    expect(valueOf(exposition, 'etcd_network_peer_received_bytes_total', { From: secondId })).toBeGreaterThan(0);
  });

  it('shows the leader, and a put moves the committed and applied indexes, the WAL fsyncs, the keys and the size', async () => {
    const leader = await cluster.waitForLeader();
    const before = await scrapeMember(leader);
    expect(valueOf(before, 'etcd_server_has_leader')).toBe(1);
    expect(valueOf(before, 'etcd_server_is_leader')).toBe(1);
    expect(valueOf(before, 'etcd_server_leader_changes_seen_total')).toBeGreaterThanOrEqual(1);
    expect(valueOf(before, 'etcd_server_quota_backend_bytes')).toBe(2 * 1024 ** 3);
    const follower = cluster.members.find((member) => member !== leader)!;
    expect(valueOf(await scrapeMember(follower), 'etcd_server_is_leader')).toBe(0);

    await call(cluster.client(leader), 'Put', { key: Buffer.from('metrics-key'), value: Buffer.alloc(4096, 1) });
    const after = await eventually('the put to show', async () => {
      const scraped = await scrapeMember(leader);
      if (valueOf(scraped, 'etcd_mvcc_db_total_size_in_bytes') <= valueOf(before, 'etcd_mvcc_db_total_size_in_bytes')) throw new Error('size not measured yet');
      return scraped;
    });
    expect(valueOf(after, 'etcd_server_proposals_committed_total')).toBeGreaterThan(valueOf(before, 'etcd_server_proposals_committed_total'));
    expect(valueOf(after, 'etcd_server_proposals_applied_total')).toBeGreaterThan(valueOf(before, 'etcd_server_proposals_applied_total'));
    expect(valueOf(after, 'etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(valueOf(before, 'etcd_disk_wal_fsync_duration_seconds_count'));
    expect(valueOf(after, 'etcd_debugging_mvcc_keys_total')).toBe(valueOf(before, 'etcd_debugging_mvcc_keys_total') + 1);
    expect(valueOf(after, 'etcd_debugging_mvcc_current_revision')).toBeGreaterThan(valueOf(before, 'etcd_debugging_mvcc_current_revision'));
    await eventually('the store to commit its batch', async () => {
      if (valueOf(await scrapeMember(leader), 'etcd_disk_backend_commit_duration_seconds_count') <= valueOf(before, 'etcd_disk_backend_commit_duration_seconds_count')) throw new Error('no commit yet');
    });
  });

  it('answers 404 for a path it does not serve', async () => {
    const response = await fetch(metricsUrl(cluster.members[0]!).replace('/metrics', '/nothing-here'));
    expect(response.status).toBe(404);
  });
});
