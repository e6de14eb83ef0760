// The `raftkv` command line: etcd's own flag names, so a script that starts an etcd cluster starts
// a raftkv cluster by swapping the binary name. Every flag may also come from the environment as
// RAFTKV_<NAME> (or etcd's ETCD_<NAME>), e.g. RAFTKV_DATA_DIR; the command line wins.

import { InvalidPeerUrlError } from '../grpc/errors.js';
import { parsePeerUrl } from '../grpc/peer-url.js';
import { configDefaults, type ClusterMemberSpec, type LogLevel, type ServerConfig, type TlsFiles } from '../server/config.js';

export class FlagError extends Error {
  readonly code = 'RAFTKV_BAD_FLAG';
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

type FlagKind = 'string' | 'urls' | 'integer' | 'boolean' | 'duration';

const FLAGS = {
  name: 'string',
  'data-dir': 'string',
  'listen-client-urls': 'urls',
  'advertise-client-urls': 'urls',
  'listen-peer-urls': 'urls',
  'listen-metrics-urls': 'urls',
  metrics: 'string',
  'initial-advertise-peer-urls': 'urls',
  'initial-cluster': 'string',
  'initial-cluster-state': 'string',
  'initial-cluster-token': 'string',
  'heartbeat-interval': 'integer',
  'election-timeout': 'integer',
  'snapshot-count': 'integer',
  'quota-backend-bytes': 'integer',
  'max-request-bytes': 'integer',
  'max-snapshots': 'integer',
  'max-wals': 'integer',
  'log-level': 'string',
  'cert-file': 'string',
  'key-file': 'string',
  'trusted-ca-file': 'string',
  'client-cert-auth': 'boolean',
  'peer-cert-file': 'string',
  'peer-key-file': 'string',
  'peer-trusted-ca-file': 'string',
  'peer-client-cert-auth': 'boolean',
  'experimental-watch-progress-notify-interval': 'duration',
  'experimental-value-cache-bytes': 'integer',
  'initial-election-tick-advance': 'boolean',
} as const satisfies Record<string, FlagKind>;

type FlagName = keyof typeof FLAGS;
type RawFlags = Partial<Record<FlagName, string>>;

function isFlagName(name: string): name is FlagName {
  return Object.hasOwn(FLAGS, name);
}

/** Reads `--flag value`, `--flag=value` and `-flag value` (Go style, as etcd accepts). */
function parseArgv(argv: readonly string[]): RawFlags {
  const flags: RawFlags = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('-')) throw new FlagError(`unexpected argument "${word}"`);
    const body = word.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (!isFlagName(name)) throw new FlagError(`unknown flag --${name}`);
    if (eq >= 0) {
      flags[name] = body.slice(eq + 1);
    } else if (FLAGS[name] === 'boolean') {
      flags[name] = 'true';
    } else {
      const value = argv[++i];
      if (value === undefined) throw new FlagError(`flag --${name} needs a value`);
      flags[name] = value;
    }
  }
  return flags;
}

function readEnvironment(env: NodeJS.ProcessEnv): RawFlags {
  const flags: RawFlags = {};
  for (const name of Object.keys(FLAGS) as FlagName[]) {
    const suffix = name.toUpperCase().replaceAll('-', '_');
    const value = env[`RAFTKV_${suffix}`] ?? env[`ETCD_${suffix}`];
    if (value !== undefined && value !== '') flags[name] = value;
  }
  return flags;
}

function parseUrls(flag: string, value: string): string[] {
  const urls = value.split(',').map((url) => url.trim()).filter(Boolean);
  if (urls.length === 0) throw new FlagError(`--${flag} needs at least one URL`);
  for (const url of urls) {
    try {
      parsePeerUrl(url);
    } catch (error) {
      if (error instanceof InvalidPeerUrlError) throw new FlagError(`--${flag}: "${url}": ${error.reason}`);
      throw error;
    }
  }
  return urls;
}

function parseInteger(flag: string, value: string, minimum: number): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < minimum) throw new FlagError(`--${flag} must be an integer >= ${minimum}, got "${value}"`);
  return number;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as etcd's flags take it: "500ms", "10s", "10m", "1h30m". */
function parseDuration(flag: string, value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const total = parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * DURATION_UNITS_MS[unit]!, 0);
  if (parts.length === 0 || parts.map(([part]) => part).join('') !== value || total <= 0) {
    throw new FlagError(`--${flag} must be a positive duration such as 500ms, 10s or 10m, got "${value}"`);
  }
  return Math.round(total);
}

function parseBoolean(flag: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new FlagError(`--${flag} must be true or false, got "${value}"`);
}

/** `a=http://x:2380,b=http://y:2380,a=http://x2:2380` → members in order of first mention. */
export function parseInitialCluster(value: string): ClusterMemberSpec[] {
  const members = new Map<string, string[]>();
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(`--initial-cluster: "${part}" must be name=url`);
    const name = part.slice(0, eq);
    const [url] = parseUrls('initial-cluster', part.slice(eq + 1));
    members.set(name, [...(members.get(name) ?? []), url]);
  }
  if (members.size === 0) throw new FlagError('--initial-cluster names no member');
  return [...members].map(([name, peerUrls]) => ({ name, peerUrls }));
}

function tlsFiles(prefix: '' | 'peer-', flags: RawFlags): TlsFiles | null {
  const certFile = flags[`${prefix}cert-file`];
  const keyFile = flags[`${prefix}key-file`];
  const trustedCaFile = flags[`${prefix}trusted-ca-file`] ?? null;
  const clientCertAuth = parseBoolean(`${prefix}client-cert-auth`, flags[`${prefix}client-cert-auth`] ?? 'false');
  if (certFile === undefined && keyFile === undefined) {
    if (clientCertAuth || trustedCaFile !== null) throw new FlagError(`--${prefix}client-cert-auth and --${prefix}trusted-ca-file need --${prefix}cert-file and --${prefix}key-file`);
    return null;
  }
  if (certFile === undefined || keyFile === undefined) throw new FlagError(`--${prefix}cert-file and --${prefix}key-file go together`);
  if (clientCertAuth && trustedCaFile === null) throw new FlagError(`--${prefix}client-cert-auth needs --${prefix}trusted-ca-file`);
  return { certFile, keyFile, trustedCaFile, clientCertAuth };
}

function checkSchemes(flag: string, urls: readonly string[], tls: TlsFiles | null): void {
  for (const url of urls) {
    if (url.startsWith('https:') && tls === null) throw new FlagError(`--${flag}: ${url} is https but no certificate is configured`);
  }
}

/** etcd's recommended ceiling for --quota-backend-bytes: 8 GiB. */
export const QUOTA_BACKEND_BYTES_RECOMMENDED_MAX = 8 * 1024 * 1024 * 1024;

/**
 * What the member should say about its flags when it starts, as etcd does: a disabled or oversized
 * quota, and the file-purging flags raftkv has no files for.
 */
export function startupNotes(argv: readonly string[], env: NodeJS.ProcessEnv, config: ServerConfig): string[] {
  const flags: RawFlags = { ...readEnvironment(env), ...parseArgv(argv) };
  const notes: string[] = [];
  if (config.quotaBackendBytes === Number.POSITIVE_INFINITY) notes.push('disabling backend quota');
  else if (config.quotaBackendBytes > QUOTA_BACKEND_BYTES_RECOMMENDED_MAX) {
    notes.push(`backend quota ${config.quotaBackendBytes} exceeds maximum recommended quota ${QUOTA_BACKEND_BYTES_RECOMMENDED_MAX}`);
  }
  for (const flag of ['max-snapshots', 'max-wals'] as const) {
    if (flags[flag] !== undefined) notes.push(`--${flag} has no effect: raftkv's log and snapshots live in one database that drops what it no longer needs, with no files to purge`);
  }
  return notes;
}

/** Builds a validated configuration from the command line and the environment. */
export function parseServerFlags(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const flags: RawFlags = { ...readEnvironment(env), ...parseArgv(argv) };
  const name = flags.name ?? configDefaults.name;
  const urls = (flag: FlagName, fallback: readonly string[]): string[] => (flags[flag] === undefined ? [...fallback] : parseUrls(flag, flags[flag] as string));
  const initialAdvertisePeerUrls = urls('initial-advertise-peer-urls', configDefaults.initialAdvertisePeerUrls);
  const initialCluster = parseInitialCluster(flags['initial-cluster'] ?? `${name}=${initialAdvertisePeerUrls.join(`,${name}=`)}`);
  const state = flags['initial-cluster-state'] ?? configDefaults.initialClusterState;
  if (state !== 'new' && state !== 'existing') throw new FlagError(`--initial-cluster-state must be new or existing, got "${state}"`);
  const self = initialCluster.find((member) => member.name === name);
  if (self === undefined) throw new FlagError(`--initial-cluster has no member named "${name}" (--name)`);
  const advertised = [...initialAdvertisePeerUrls].sort().join(',');
  if ([...self.peerUrls].sort().join(',') !== advertised) {
    throw new FlagError(`--initial-cluster gives ${name} peer URLs ${self.peerUrls.join(',')} but --initial-advertise-peer-urls is ${initialAdvertisePeerUrls.join(',')}`);
  }
  const heartbeatIntervalMs = parseInteger('heartbeat-interval', flags['heartbeat-interval'] ?? String(configDefaults.heartbeatIntervalMs), 1);
  const electionTimeoutMs = parseInteger('election-timeout', flags['election-timeout'] ?? String(configDefaults.electionTimeoutMs), 1);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new FlagError(`--election-timeout (${electionTimeoutMs} ms) must be at least 5 times --heartbeat-interval (${heartbeatIntervalMs} ms)`);
  }
  const metrics = flags.metrics ?? configDefaults.metrics;
  if (metrics !== 'basic' && metrics !== 'extensive') throw new FlagError(`--metrics must be basic or extensive, got "${metrics}"`);
  const logLevel = flags['log-level'] ?? configDefaults.logLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new FlagError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  // As etcd: 0 takes the default, a negative quota disables it (startupNotes says so).
  const quota = parseInteger('quota-backend-bytes', flags['quota-backend-bytes'] ?? '0', Number.MIN_SAFE_INTEGER);
  // Accepted so that etcd's command lines start raftkv; there are no snapshot or WAL files to purge (startupNotes).
  parseInteger('max-snapshots', flags['max-snapshots'] ?? '5', 0);
  parseInteger('max-wals', flags['max-wals'] ?? '5', 0);
  const clientTls = tlsFiles('', flags);
  const peerTls = tlsFiles('peer-', flags);
  const config: ServerConfig = {
    name,
    dataDir: flags['data-dir'] ?? `${name}.etcd`,
    listenClientUrls: urls('listen-client-urls', configDefaults.listenClientUrls),
    advertiseClientUrls: urls('advertise-client-urls', configDefaults.advertiseClientUrls),
    listenPeerUrls: urls('listen-peer-urls', configDefaults.listenPeerUrls),
    listenMetricsUrls: urls('listen-metrics-urls', configDefaults.listenMetricsUrls),
    metrics,
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: flags['initial-cluster-token'] ?? configDefaults.initialClusterToken,
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: parseInteger('snapshot-count', flags['snapshot-count'] ?? String(configDefaults.snapshotCount), 1),
    quotaBackendBytes: quota === 0 ? configDefaults.quotaBackendBytes : quota < 0 ? Number.POSITIVE_INFINITY : quota,
    maxRequestBytes: parseInteger('max-request-bytes', flags['max-request-bytes'] ?? String(configDefaults.maxRequestBytes), 1),
    initialElectionTickAdvance: parseBoolean('initial-election-tick-advance', flags['initial-election-tick-advance'] ?? String(configDefaults.initialElectionTickAdvance)),
    watchProgressNotifyIntervalMs: parseDuration(
      'experimental-watch-progress-notify-interval',
      flags['experimental-watch-progress-notify-interval'] ?? `${configDefaults.watchProgressNotifyIntervalMs}ms`,
    ),
    valueCacheBytes: parseInteger('experimental-value-cache-bytes', flags['experimental-value-cache-bytes'] ?? String(configDefaults.valueCacheBytes), 0),
    logLevel: logLevel as LogLevel,
    clientTls,
    peerTls,
  };
  checkSchemes('listen-client-urls', config.listenClientUrls, clientTls);
  for (const url of config.listenMetricsUrls) {
    if (!url.startsWith('http:')) throw new FlagError(`--listen-metrics-urls: ${url}: raftkv serves /metrics and /health there over plain http only`);
  }
  checkSchemes('listen-peer-urls', config.listenPeerUrls, peerTls);
  return config;
}
