import { describe, expect, it } from 'vitest';
import { FlagError, parseInitialCluster, parseServerFlags, startupNotes } from '../../src/cli/flags.js';
import { clusterIdFor, initialMembership, memberIdFor } from '../../src/server/identity.js';

const threeMembers = [
  '--name', 'm2',
  '--data-dir', '/var/lib/raftkv/m2',
  '--listen-client-urls', 'http://127.0.0.1:22379',
  '--advertise-client-urls', 'http://127.0.0.1:22379',
  '--listen-peer-urls', 'http://127.0.0.1:22380',
  '--initial-advertise-peer-urls', 'http://127.0.0.1:22380',
  '--initial-cluster', 'm1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380',
  '--initial-cluster-state', 'new',
  '--initial-cluster-token', 'tok',
  '--heartbeat-interval', '50',
  '--election-timeout=500',
];

describe('raftkv flags (etcd names)', () => {
  it('parses the flags of a three-member etcd cluster script', () => {
    const config = parseServerFlags(threeMembers);
    expect(config.name).toBe('m2');
    expect(config.dataDir).toBe('/var/lib/raftkv/m2');
    expect(config.initialCluster.map((m) => m.name)).toEqual(['m1', 'm2', 'm3']);
    expect(config.heartbeatIntervalMs).toBe(50);
    expect(config.electionTimeoutMs).toBe(500);
    expect(config.clientTls).toBeNull();
  });

  it("uses etcd's defaults", () => {
    const config = parseServerFlags([]);
    expect(config).toMatchObject({
      name: 'default',
      dataDir: 'default.etcd',
      listenClientUrls: ['http://localhost:2379'],
      initialCluster: [{ name: 'default', peerUrls: ['http://localhost:2380'] }],
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      snapshotCount: 10000,
      maxRequestBytes: 1572864,
      quotaBackendBytes: 2 * 1024 ** 3,
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
    });
  });

  it('--experimental-value-cache-bytes sizes the store\'s value cache (default 64 MiB, 0 allowed)', () => {
    expect(parseServerFlags([]).valueCacheBytes).toBe(64 * 1024 * 1024);
    expect(parseServerFlags(['--experimental-value-cache-bytes', '1048576']).valueCacheBytes).toBe(1048576);
    expect(parseServerFlags(['--experimental-value-cache-bytes=0']).valueCacheBytes).toBe(0);
    expect(() => parseServerFlags(['--experimental-value-cache-bytes', '-1'])).toThrow(/experimental-value-cache-bytes must be an integer >= 0/);
  });

  it('takes RAFTKV_* and ETCD_* environment variables, with the command line winning', () => {
    const config = parseServerFlags(['--name', 'cli'], { RAFTKV_DATA_DIR: '/d', ETCD_SNAPSHOT_COUNT: '5', RAFTKV_NAME: 'env', ETCD_INITIAL_CLUSTER: 'cli=http://localhost:2380' });
    expect(config.name).toBe('cli');
    expect(config.dataDir).toBe('/d');
    expect(config.snapshotCount).toBe(5);
  });

  it('accepts Go-style single-dash flags and bare booleans', () => {
    const config = parseServerFlags(['-name', 'a', '-initial-cluster', 'a=http://localhost:2380', '--cert-file', 'c.pem', '--key-file', 'k.pem', '--trusted-ca-file', 'ca.pem', '--client-cert-auth']);
    expect(config.clientTls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem', trustedCaFile: 'ca.pem', clientCertAuth: true });
  });

  it("reads --quota-backend-bytes as etcd does: 0 the default, negative none, above 8 GiB a warning; takes --max-snapshots and --max-wals and says they do nothing", () => {
    const notesFor = (argv: string[]): string[] => startupNotes(argv, {}, parseServerFlags(argv));
    expect(parseServerFlags(['--quota-backend-bytes', '0']).quotaBackendBytes).toBe(2 * 1024 ** 3);
    expect(notesFor(['--quota-backend-bytes', '0'])).toEqual([]);
    expect(parseServerFlags(['--quota-backend-bytes', '-1']).quotaBackendBytes).toBe(Number.POSITIVE_INFINITY);
    expect(notesFor(['--quota-backend-bytes', '-1'])).toEqual(['disabling backend quota']);
    expect(notesFor(['--quota-backend-bytes', String(9 * 1024 ** 3)])).toEqual(['backend quota 9663676416 exceeds maximum recommended quota 8589934592']);
    expect(notesFor(['--quota-backend-bytes', String(8 * 1024 ** 3)])).toEqual([]);
    const purging = notesFor(['--max-snapshots', '3', '--max-wals=0']);
    expect(purging).toHaveLength(2);
    expect(purging[0]).toMatch(/^--max-snapshots has no effect/);
  });

  it.each([
    [['--bogus', '1'], /unknown flag --bogus/],
    [['--heartbeat-interval', 'x'], /heartbeat-interval must be an integer/],
    [['--heartbeat-interval', '300'], /at least 5 times/],
    [['--initial-cluster-state', 'maybe'], /new or existing/],
    [['--name', 'x', '--initial-cluster', 'a=http://localhost:2380'], /no member named "x"/],
    [['--listen-client-urls', 'localhost:2379'], /not a URL/],
    [['--listen-client-urls', 'https://127.0.0.1:2379'], /no certificate/],
    [['--listen-peer-urls', 'http://127.0.0.1:2380/peers'], /must not contain a path/],
    [['--initial-cluster', 'default=http://localhost:2380/'], /must not contain a path/],
    [['--client-cert-auth'], /need --cert-file/],
    [['--log-level', 'loud'], /log-level/],
    [['--max-wals', '-1'], /max-wals must be an integer >= 0/],
    [['--max-snapshots', 'many'], /max-snapshots must be an integer >= 0/],
    [['--listen-metrics-urls', 'https://127.0.0.1:2381'], /plain http only/],
    [['--listen-metrics-urls', '127.0.0.1:2381'], /not a URL/],
    [['--metrics', 'everything'], /--metrics must be basic or extensive/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServerFlags(argv as string[])).toThrow(FlagError);
    expect(() => parseServerFlags(argv as string[])).toThrow(message as RegExp);
  });

  it('takes --listen-metrics-urls as etcd does (none by default)', () => {
    expect(parseServerFlags([]).listenMetricsUrls).toEqual([]);
    expect(parseServerFlags([]).metrics).toBe('basic');
    expect(parseServerFlags(['--metrics=extensive']).metrics).toBe('extensive');
    expect(parseServerFlags(['--listen-metrics-urls', 'http://127.0.0.1:2381,http://[::1]:2381']).listenMetricsUrls).toEqual(['http://127.0.0.1:2381', 'http://[::1]:2381']);
  });

  it('groups several peer URLs of one member in --initial-cluster', () => {
    expect(parseInitialCluster('a=http://h:1,b=http://h:2,a=http://h:3')).toEqual([
      { name: 'a', peerUrls: ['http://h:1', 'http://h:3'] },
      { name: 'b', peerUrls: ['http://h:2'] },
    ]);
  });
});

describe('member and cluster ids', () => {
  it('are stable, depend on URLs and token, and fit in 53 bits', () => {
    const a = memberIdFor(['http://127.0.0.1:12380'], 'tok');
    expect(memberIdFor(['http://127.0.0.1:12380'], 'tok')).toBe(a);
    expect(memberIdFor(['http://127.0.0.1:12380'], 'other')).not.toBe(a);
    expect(memberIdFor(['http://127.0.0.1:22380'], 'tok')).not.toBe(a);
    expect(Number.isSafeInteger(a) && a > 0).toBe(true);
    expect(clusterIdFor([3, 1, 2])).toBe(clusterIdFor([1, 2, 3]));
  });

  it('derive the same cluster id on every member of one --initial-cluster', () => {
    const config = parseServerFlags(threeMembers);
    const first = initialMembership(config.initialCluster, config.initialClusterToken);
    const again = initialMembership([...config.initialCluster].reverse(), config.initialClusterToken);
    expect(again.clusterId).toBe(first.clusterId);
    expect(new Set(first.members.map((m) => m.id)).size).toBe(3);
  });
});
