// The `raftkv` server: parse etcd-style flags, start one member and its client API, and stop
// gracefully on SIGTERM/SIGINT (handing leadership away first when this member leads).

import { pino } from 'pino';
import { startClientServer } from '../api/client-server.js';
import { HealthEndpoints } from '../api/http/health.js';
import { metricsEndpoint, startMetricsListener } from '../api/metrics-listener.js';
import { Failpoints } from '../failpoints/failpoints.js';
import { RaftMember } from '../server/member.js';
import { startFailpointServer } from './failpoint-server.js';
import { startIdleHeapCompaction } from './idle-heap-compaction.js';
import { FlagError, parseServerFlags, startupNotes } from './flags.js';

const EXIT_BAD_FLAGS = 2;
const EXIT_START_FAILED = 1;

async function main(): Promise<void> {
  let config;
  try {
    config = parseServerFlags(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof FlagError) {
      console.error(`raftkv: ${error.message}`);
      process.exit(EXIT_BAD_FLAGS);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { name: config.name } });
  for (const note of startupNotes(process.argv.slice(2), process.env, config)) logger.warn(note);
  let member: RaftMember;
  try {
    // Test harnesses only: faults to switch on (see src/failpoints/failpoints.ts).
    const failpoints = Failpoints.fromJson(process.env.RAFTKV_FAILPOINTS);
    const failpointAddress = process.env.RAFTKV_FAILPOINTS_ADDR;
    if (failpointAddress !== undefined && failpointAddress !== '') {
      await startFailpointServer(failpointAddress, failpoints);
      logger.warn({ address: failpointAddress }, 'failpoint control endpoint enabled (test harnesses only)');
    }
    member = await RaftMember.start(config, logger, failpoints);
  } catch (error) {
    logger.error({ err: error }, 'raftkv failed to start');
    console.error(`raftkv: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(EXIT_START_FAILED);
  }
  const server = await startClientServer(member.servers, { urls: config.listenClientUrls, tls: config.clientTls, maxRequestBytes: config.maxRequestBytes, httpEndpoints: [metricsEndpoint] });
  logger.info({ clientUrls: config.listenClientUrls }, 'serving client requests');
  if (config.listenMetricsUrls.length > 0) {
    // etcd's --listen-metrics-urls: plain HTTP with /metrics and /health only (etcd answers its
    // other paths, /version and /readyz among them, with 404 there).
    const health = new HealthEndpoints(member.servers);
    try {
      await startMetricsListener(config.listenMetricsUrls, (req, res, path) => path === '/health' && health.serve(req, res, path));
    } catch (error) {
      logger.error({ err: error, metricsUrls: config.listenMetricsUrls }, 'cannot listen for metrics');
      process.exit(EXIT_START_FAILED);
    }
    logger.info({ metricsUrls: config.listenMetricsUrls }, 'serving /metrics and /health');
  }
  const MiB = 1024 * 1024;
  startIdleHeapCompaction((compaction) =>
    logger.info(
      { committedBeforeMiB: Math.round(compaction.committedBeforeBytes / MiB), committedAfterMiB: Math.round(compaction.committedAfterBytes / MiB), usedAfterMiB: Math.round(compaction.usedAfterBytes / MiB), pauseMs: Math.round(compaction.pauseMs) },
      'compacted the heap while idle',
    ),
  );
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await member.transferLeadershipAway();
    server.forceShutdown();
    await member.stop();
    logger.info('stopped');
    process.exit(0);
  };
  void member.removed.then(() => {
    // Like etcd, a member removed from the cluster exits once it has stopped.
    server.forceShutdown();
    logger.info('removed from the cluster; exiting');
    process.exit(0);
  });
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

await main();
