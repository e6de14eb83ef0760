// A real Prometheus scrapes a three-member raftkv cluster's --listen-metrics-urls, and etcd's own
// alerting rules (the etcd mixin, etcd-io/etcd contrib/mixin) are evaluated over its HTTP API: each
// expression's measured side returns data for the cluster, and a member killed with SIGKILL shows
// as down, its peers count send failures to it, and the etcdMembersDown expression fires.

import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { call, eventually, type MemberProcess, type TestCluster } from './harness.js';
import { memberIdLabel, metricsPorts, startClusterWithMetrics } from './metrics-support.js';
import { TestPrometheus, type PrometheusResult } from './prometheus-support.js';
import { describeWithBinaries } from '../support/external.js';

/** The mixin's selector; the job is named so that it matches. */
const JOB = 'raftkv-etcd';
const SELECTOR = 'job=~".*etcd.*"';
const SCRAPE_INTERVAL_SECONDS = 1;
/** The mixin's network_failure_range: four scrape intervals. */
const FAILURE_RANGE = `${SCRAPE_INTERVAL_SECONDS * 4}s`;
const FAILED_CODES = 'Unknown|FailedPrecondition|ResourceExhausted|Internal|Unavailable|DataLoss|DeadlineExceeded';

/**
 * Each alert's expression as the mixin writes it, less the threshold it is compared with (on a
 * healthy cluster the comparison rightly returns nothing; the measured side must return data).
 * etcdHighNumberOfLeaderChanges's subquery takes one point a minute; here one per scrape interval,
 * or a test shorter than two minutes would see no increase at all. etcdGRPCRequestsSlow reads
 * grpc_server_handling_seconds, which etcd 3.4 and raftkv export under --metrics=extensive only.
 */
const ALERT_MEASURES: Record<string, string> = {
  etcdMembersDown: `max without (endpoint) (sum without (instance) (up{${SELECTOR}} == bool 0) or count without (To) (sum without (instance) (rate(etcd_network_peer_sent_failures_total{${SELECTOR}}[${FAILURE_RANGE}])) > 0.01))`,
  etcdInsufficientMembers: `sum(up{${SELECTOR}} == bool 1) without (instance)`,
  etcdNoLeader: `etcd_server_has_leader{${SELECTOR}}`,
  etcdHighNumberOfLeaderChanges: `increase((max without (instance) (etcd_server_leader_changes_seen_total{${SELECTOR}}) or 0*absent(etcd_server_leader_changes_seen_total{${SELECTOR}}))[15m:${SCRAPE_INTERVAL_SECONDS}s])`,
  etcdHighNumberOfFailedGRPCRequests: `100 * sum(rate(grpc_server_handled_total{${SELECTOR}, grpc_code=~"${FAILED_CODES}"}[5m])) without (grpc_type, grpc_code) / sum(rate(grpc_server_handled_total{${SELECTOR}}[5m])) without (grpc_type, grpc_code)`,
  etcdGRPCRequestsSlow: `histogram_quantile(0.99, sum(rate(grpc_server_handling_seconds_bucket{${SELECTOR}, grpc_method!="Defragment", grpc_type="unary"}[5m])) without(grpc_type))`,
  etcdMemberCommunicationSlow: `histogram_quantile(0.99, rate(etcd_network_peer_round_trip_time_seconds_bucket{${SELECTOR}}[5m]))`,
  etcdHighNumberOfFailedProposals: `rate(etcd_server_proposals_failed_total{${SELECTOR}}[15m])`,
  etcdHighFsyncDurations: `histogram_quantile(0.99, rate(etcd_disk_wal_fsync_duration_seconds_bucket{${SELECTOR}}[5m]))`,
  etcdHighCommitDurations: `histogram_quantile(0.99, rate(etcd_disk_backend_commit_duration_seconds_bucket{${SELECTOR}}[5m]))`,
  etcdDatabaseQuotaLowSpace: `(last_over_time(etcd_mvcc_db_total_size_in_bytes{${SELECTOR}}[5m]) / last_over_time(etcd_server_quota_backend_bytes{${SELECTOR}}[5m]))*100`,
  etcdExcessiveDatabaseGrowth: `predict_linear(etcd_mvcc_db_total_size_in_bytes{${SELECTOR}}[4h], 4*60*60)`,
  etcdDatabaseHighFragmentationRatio: `last_over_time(etcd_mvcc_db_total_size_in_use_in_bytes{${SELECTOR}}[5m]) / last_over_time(etcd_mvcc_db_total_size_in_bytes{${SELECTOR}}[5m])`,
};

/** The alerts that read grpc_server_*: the client port's own series. */
const GRPC_ALERTS = ['etcdHighNumberOfFailedGRPCRequests', 'etcdGRPCRequestsSlow'];

/** The full etcdMembersDown expression, threshold included: fires while a member is down. */
const MEMBERS_DOWN = `${ALERT_MEASURES.etcdMembersDown} > 0`;

function instanceOf(member: MemberProcess): string {
  return `127.0.0.1:${metricsPorts.get(member.name)}`;
}

/** Finite values only: a histogram_quantile over a window without observations is NaN. */
function finite(results: readonly PrometheusResult[]): PrometheusResult[] {
  return results.filter((result) => Number.isFinite(result.value));
}

describeWithBinaries(['prometheus'], 'a real Prometheus scraping raftkv with etcd\'s alert expressions', (binaries) => {
  let cluster: TestCluster;
  let prometheus: TestPrometheus;

  beforeAll(async () => {
    cluster = await startClusterWithMetrics(3, ['--metrics=extensive']);
    prometheus = await TestPrometheus.start(binaries.prometheus!, JOB, cluster.members.map(instanceOf), SCRAPE_INTERVAL_SECONDS);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([prometheus?.stop(), cluster?.stop()]);
  });

  /**
   * Polls each alert's measured side until it returns finite data for the cluster, with a write
   * every quarter second meanwhile: rate() over counters that stopped before Prometheus's first
   * scrape is 0, and a quantile or ratio of zero rates is NaN, as it would be for an idle etcd.
   */
  async function expectDataFor(alerts: readonly string[]): Promise<Map<string, PrometheusResult[]>> {
    const leader = await cluster.waitForLeader();
    let writes = 0;
    const traffic = setInterval(() => void call(cluster.client(leader), 'Put', { key: Buffer.from(`prometheus-${writes++ % 100}`), value: Buffer.from('v') }).catch(() => {}), 250);
    onTestFinished(() => clearInterval(traffic));
    const perMember = ['etcdNoLeader', 'etcdHighNumberOfFailedProposals', 'etcdHighFsyncDurations', 'etcdHighCommitDurations', 'etcdDatabaseQuotaLowSpace', 'etcdExcessiveDatabaseGrowth', 'etcdDatabaseHighFragmentationRatio', 'etcdMemberCommunicationSlow'];
    // What each series must show once all three members are scraped (Prometheus starts with none).
    const settled: Record<string, (results: PrometheusResult[]) => boolean> = {
      etcdNoLeader: (results) => results.every((result) => result.value === 1),
      etcdInsufficientMembers: (results) => results.length === 1 && results[0]!.value === 3,
      etcdMembersDown: (results) => results.length === 1 && results[0]!.value === 0,
      etcdHighNumberOfFailedGRPCRequests: (results) => results.some((result) => result.metric.grpc_method === 'Put'),
      etcdGRPCRequestsSlow: (results) => results.some((result) => result.metric.grpc_method === 'Put'),
    };
    const found = new Map<string, PrometheusResult[]>();
    for (const alert of alerts) {
      const expression = ALERT_MEASURES[alert]!;
      found.set(alert, await eventually(`${alert} to return data`, async () => {
        const results = finite(await prometheus.query(expression));
        // Per-member expressions have a series for each member; fsync, commit and round trip
        // need observations in two scrapes first.
        const members = new Set(results.map((result) => result.metric.instance));
        if (results.length === 0 || (perMember.includes(alert) && members.size < 3) || !(settled[alert]?.(results) ?? true)) throw new Error(JSON.stringify(results));
        return results;
      }, 60_000));
    }
    return found;
  }

  it('returns data for the measured side of every alert of the etcd mixin on members, disks, peers and quota', async () => {
    const found = await expectDataFor(Object.keys(ALERT_MEASURES).filter((alert) => !GRPC_ALERTS.includes(alert)));
    expect(found.get('etcdDatabaseQuotaLowSpace')!.every((result) => result.value > 0 && result.value < 1)).toBe(true);
    expect(await prometheus.query(MEMBERS_DOWN)).toEqual([]);
  }, 240_000);

  // Reads the client port's grpc_server_* series: src/api/client-server.ts must serve its services through withGrpcMetrics.
  it('returns data for the gRPC alerts of the etcd mixin, by service and method', async () => {
    const leader = await cluster.waitForLeader();
    await expect(call(cluster.client(leader), 'Range', {})).rejects.toMatchObject({ code: 3 });
    const found = await expectDataFor(GRPC_ALERTS);
    for (const results of found.values()) expect(results.every((result) => result.metric.grpc_service?.startsWith('etcdserverpb.'))).toBe(true);
  }, 240_000);

  it('shows a member killed with SIGKILL as down, and its peers counting send failures to it', async () => {
    const leader = await cluster.waitForLeader();
    const victim = cluster.members.find((member) => member !== leader)!;
    const victimId = await memberIdLabel(cluster, victim);
    const peers = cluster.members.filter((member) => member !== victim);
    const failuresTo = async (): Promise<Map<string, number>> =>
      new Map((await prometheus.query(`etcd_network_peer_sent_failures_total{${SELECTOR}, To="${victimId}"}`)).map((result) => [result.metric.instance!, result.value]));
    const before = await eventually('both peers to show a send-failure series for the victim', async () => {
      const found = await failuresTo();
      if (!peers.every((peer) => found.has(instanceOf(peer)))) throw new Error(`series for ${[...found.keys()].join(', ')}`);
      return found;
    });

    await cluster.kill(victim, 'SIGKILL');

    await eventually('up to go to 0 for the killed member', async () => {
      const [up] = await prometheus.query(`up{${SELECTOR}, instance="${instanceOf(victim)}"}`);
      if (up?.value !== 0) throw new Error(`up is ${up?.value}`);
    }, 60_000);
    await eventually('every peer to count send failures to the killed member', async () => {
      const now = await failuresTo();
      const behind = peers.filter((peer) => !((now.get(instanceOf(peer)) ?? 0) > (before.get(instanceOf(peer)) ?? 0)));
      if (behind.length > 0) throw new Error(`no new failures on ${behind.map((peer) => peer.name).join(', ')}`);
    }, 60_000);
    const down = await eventually('etcdMembersDown to fire', async () => {
      const found = await prometheus.query(MEMBERS_DOWN);
      if (found.length === 0) throw new Error('not firing');
      return found;
    }, 60_000);
    expect(down[0]!.value).toBeGreaterThanOrEqual(1);
    const [members] = await prometheus.query(ALERT_MEASURES.etcdInsufficientMembers!);
    expect(members?.value).toBe(2);
  }, 240_000);
});
