// grpc.health.v1.Health on the client port, as etcd registers it: the server as a whole (service
// "") is SERVING while the member knows a leader and NOT_SERVING while it does not. Check answers
// the status now; Watch sends it, then every change, until the client goes. Any other service name
// is unknown: Check answers NOT_FOUND "unknown service", Watch sends SERVICE_UNKNOWN (grpc-go's
// health server does both).

import { loadSync } from '@grpc/proto-loader';
import {
  loadPackageDefinition,
  status,
  type GrpcObject,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceClientConstructor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { PROTO_ROOT } from '../grpc/proto-root.js';
import type { MemberServers } from '../server/servers.js';

export const ServingStatus = { Unknown: 0, Serving: 1, NotServing: 2, ServiceUnknown: 3 } as const;

let definition: ServiceDefinition | null = null;

function healthDefinition(): ServiceDefinition {
  if (definition === null) {
    const loaded = loadPackageDefinition(loadSync('grpc/health/v1/health.proto', { includeDirs: [PROTO_ROOT], keepCase: true, enums: Number, defaults: true }));
    definition = ((((loaded.grpc as GrpcObject).health as GrpcObject).v1 as GrpcObject).Health as ServiceClientConstructor).service;
  }
  return definition;
}

type HealthMember = Pick<MemberServers, 'hasLeader' | 'onLeaderChange'>;

export function grpcHealthService(member: HealthMember): readonly [ServiceDefinition, UntypedServiceImplementation] {
  const current = (): number => (member.hasLeader() ? ServingStatus.Serving : ServingStatus.NotServing);
  const implementation: UntypedServiceImplementation = {
    Check: (call: ServerUnaryCall<{ service: string }, unknown>, callback: sendUnaryData<unknown>) => {
      if (call.request.service !== '') return callback({ code: status.NOT_FOUND, details: 'unknown service' }, null);
      callback(null, { status: current() });
    },
    Watch: (call: ServerWritableStream<{ service: string }, unknown>) => {
      if (call.request.service !== '') {
        call.write({ status: ServingStatus.ServiceUnknown });
        return;
      }
      let last = current();
      call.write({ status: last });
      const stop = member.onLeaderChange(() => {
        const now = current();
        if (now === last) return;
        last = now;
        call.write({ status: now });
      });
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
  return [healthDefinition(), implementation];
}
