// What one member needs to know to start: the same settings etcd takes, already validated.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile: string | null;
  /** Refuse clients (or peers) without a certificate signed by trustedCaFile. */
  readonly clientCertAuth: boolean;
}

export interface ClusterMemberSpec {
  readonly name: string;
  readonly peerUrls: readonly string[];
}

export interface ServerConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  /** etcd's --listen-metrics-urls: extra plain-http listeners for /metrics and /health (none by default). */
  readonly listenMetricsUrls: readonly string[];
  /** etcd's --metrics: 'extensive' adds grpc_server_handling_seconds (a histogram observation per call). */
  readonly metrics: 'basic' | 'extensive';
  readonly initialAdvertisePeerUrls: readonly string[];
  /** From --initial-cluster: only consulted when the data dir is empty. */
  readonly initialCluster: readonly ClusterMemberSpec[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  readonly quotaBackendBytes: number;
  readonly maxRequestBytes: number;
  /** etcd's --initial-election-tick-advance: once a peer is reachable, skip to one tick before the first election. */
  readonly initialElectionTickAdvance: boolean;
  /** How often watchers that asked for progress_notify get one. */
  readonly watchProgressNotifyIntervalMs: number;
  /**
   * --experimental-value-cache-bytes: bytes of recently read or written values the store keeps in
   * memory; every other value is read from its database on demand (0: none cached).
   */
  readonly valueCacheBytes: number;
  readonly logLevel: LogLevel;
  readonly clientTls: TlsFiles | null;
  readonly peerTls: TlsFiles | null;
}

export const configDefaults = {
  name: 'default',
  listenClientUrls: ['http://localhost:2379'],
  advertiseClientUrls: ['http://localhost:2379'],
  listenPeerUrls: ['http://localhost:2380'],
  listenMetricsUrls: [],
  metrics: 'basic',
  initialAdvertisePeerUrls: ['http://localhost:2380'],
  initialClusterState: 'new',
  initialClusterToken: 'etcd-cluster',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 10_000,
  /** etcd's default when the flag is 0: 2 GiB. */
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  maxRequestBytes: 1_572_864,
  initialElectionTickAdvance: true,
  /** etcd's default: 10 minutes. */
  watchProgressNotifyIntervalMs: 600_000,
  /**
   * 64 MiB: holds the read working set of small-value stores whole (100,000 × 256 B is about 40 MiB
   * with per-entry overhead) and about 8,000 values of 8 KiB; only values read are cached, so a
   * load that is only written never fills it. A miss costs one synchronous LevelDB get (5–25 µs).
   */
  valueCacheBytes: 64 * 1024 * 1024,
  logLevel: 'info',
} as const;
