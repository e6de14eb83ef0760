// The client-facing gRPC server of one member, on every --listen-client-urls address.

import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { serveStreamsAfterClientGoaway } from '../grpc/client-goaway.js';
import { parsePeerUrl } from '../grpc/peer-url.js';
import type { TlsFiles } from '../server/config.js';
import type { MemberServers } from '../server/servers.js';
import { clusterService, kvService, maintenanceService } from './handlers.js';
import { LeaderMonitor } from './leader-monitor.js';
import { leaseService } from './lease-service.js';
import { WatchResponseEncoder, acceptPreEncodedWatchResponses } from './watch-encoding.js';
import { acceptPreEncodedRangeResponses } from './range-encoding.js';
import { watchService } from './watch-stream.js';
import { allowEtcdNestingInProtoLoader } from './proto-nesting.js';
import { services } from './protos.js';
import { strictService } from './wire/strict-services.js';
import { acceptEtcdMetadataSizes, refuseAsEtcd } from './http2-requests.js';

/** gRPC framing on top of the largest request etcd accepts (its own margin). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

function credentials(tls: TlsFiles | null): ServerCredentials {
  if (tls === null) return ServerCredentials.createInsecure();
  const ca = tls.trustedCaFile === null ? null : readFileSync(tls.trustedCaFile);
  return ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }], tls.clientCertAuth);
}

export async function startClientServer(member: MemberServers, urls: readonly string[], tls: TlsFiles | null, maxRequestBytes: number): Promise<Server> {
  allowEtcdNestingInProtoLoader();
  const leaderMonitor = new LeaderMonitor(member, member.electionTimeoutMs);
  const server = new Server({
    'grpc.max_receive_message_length': maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    // channelz stays on, though it costs about 10 µs of bookkeeping per call: with it off, grpc-js
    // (1.14) stops tracking connections, and forceShutdown() leaves them open.
  });
  acceptEtcdMetadataSizes(server);
  const encoder = new WatchResponseEncoder(acceptPreEncodedWatchResponses(services.Watch.service));
  acceptPreEncodedRangeResponses(services.KV.service);
  const served = [
    strictService(services.KV.service, kvService(member.kv)),
    strictService(services.Cluster.service, clusterService(member.cluster)),
    strictService(services.Maintenance.service, maintenanceService(member.maintenance)),
    strictService(services.Watch.service, watchService(member.watch, { progressNotifyIntervalMs: member.watchProgressNotifyIntervalMs, leaderMonitor, encoder })),
    strictService(services.Lease.service, leaseService(member.lease, leaderMonitor)),
  ];
  const servedPaths = new Set<string>();
  for (const [definition, implementation] of served) {
    server.addService(definition, implementation);
    for (const [name, method] of Object.entries(definition)) if (implementation[name] !== undefined) servedPaths.add(method.path);
  }
  for (const url of urls) {
    const { target } = parsePeerUrl(url);
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, credentials(tls), (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
    );
  }
  serveStreamsAfterClientGoaway(server);
  refuseAsEtcd(server, servedPaths);
  return server;
}
