// The client-facing side of one member, on every --listen-client-urls address: gRPC (etcd's v3
// services and grpc.health.v1) and HTTP/1.1 (the JSON gateway, /health, /version, /metrics) on the
// same port, as etcd serves them (see http/client-port.ts).

import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { serveStreamsAfterClientGoaway } from '../grpc/client-goaway.js';
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
import { ClientPort } from './http/client-port.js';
import { createHttpFront, type HttpEndpoint } from './http/http-front.js';
import { JsonGateway } from './http/gateway.js';
import { GATEWAY_ROUTES } from './http/routes.js';
import { HealthEndpoints } from './http/health.js';
import { grpcHealthService } from './grpc-health.js';
import { withGrpcMetrics } from './grpc-metrics.js';

/** gRPC framing on top of the largest request etcd accepts (its own margin). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

export interface ClientServer {
  /** Closes the listeners and every open connection, gRPC and HTTP. */
  forceShutdown(): void;
}

export interface ClientServerOptions {
  readonly urls: readonly string[];
  readonly tls: TlsFiles | null;
  readonly maxRequestBytes: number;
  /** More HTTP endpoints, tried before the gateway (/metrics). */
  readonly httpEndpoints?: readonly HttpEndpoint[];
}

export async function startClientServer(member: MemberServers, options: ClientServerOptions): Promise<ClientServer> {
  allowEtcdNestingInProtoLoader();
  const leaderMonitor = new LeaderMonitor(member, member.electionTimeoutMs);
  const maxReceiveBytes = options.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const grpc = new Server({
    'grpc.max_receive_message_length': maxReceiveBytes,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    // channelz stays on, though it costs about 10 µs of bookkeeping per call: with it off, grpc-js
    // (1.14) stops tracking connections, and forceShutdown() leaves them open.
  });
  acceptEtcdMetadataSizes(grpc);
  const encoder = new WatchResponseEncoder(acceptPreEncodedWatchResponses(services.Watch.service));
  acceptPreEncodedRangeResponses(services.KV.service);
  // Measured (grpc_server_*) on both paths: etcd's gateway is a gRPC client of its own server, so
  // etcd counts a JSON call as a gRPC call too.
  const served = new Map<string, readonly [ServiceDefinition, UntypedServiceImplementation]>(
    (
      [
        ['KV', strictService(services.KV.service, kvService(member.kv))],
        ['Cluster', strictService(services.Cluster.service, clusterService(member.cluster))],
        ['Maintenance', strictService(services.Maintenance.service, maintenanceService(member.maintenance))],
        ['Watch', strictService(services.Watch.service, watchService(member.watch, { progressNotifyIntervalMs: member.watchProgressNotifyIntervalMs, leaderMonitor, encoder }))],
        ['Lease', strictService(services.Lease.service, leaseService(member.lease, leaderMonitor))],
      ] as const
    ).map(([name, [definition, implementation]]) => [name, withGrpcMetrics(definition, implementation)]),
  );
  const servedPaths = new Set<string>();
  for (const [definition, implementation] of [...served.values(), withGrpcMetrics(...grpcHealthService(member))]) {
    grpc.addService(definition, implementation);
    for (const [name, method] of Object.entries(definition)) if (implementation[name] !== undefined) servedPaths.add(method.path);
  }
  // TLS is ended by the client port itself, for gRPC and HTTP alike: the gRPC side gets plain bytes.
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  serveStreamsAfterClientGoaway(grpc);
  refuseAsEtcd(grpc, servedPaths);

  const health = new HealthEndpoints(member);
  const gateway = new JsonGateway(served, GATEWAY_ROUTES, { maxRequestBytes: maxReceiveBytes });
  const http = createHttpFront([
    (req, res, path) => health.serve(req, res, path),
    ...(options.httpEndpoints ?? []),
    (req, res, path) => {
      if (!gateway.handles(path)) return false;
      gateway.serve(req, res, path);
      return true;
    },
  ]);
  const port = new ClientPort({ grpc: injector, http }, options.tls);
  try {
    for (const url of options.urls) await port.listen(url);
  } catch (error) {
    port.close();
    grpc.forceShutdown();
    throw error;
  }
  return {
    forceShutdown: () => {
      port.close();
      injector.destroy();
      grpc.forceShutdown();
      http.close();
    },
  };
}
