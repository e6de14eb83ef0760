// The etcd v3 service definitions, loaded from our own protos with the options every handler
// relies on: snake_case field names as in the .proto, int64 as JS numbers, bytes as Buffers.

import { loadSync } from '@grpc/proto-loader';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { PROTO_ROOT } from '../grpc/proto-root.js';

const definition = loadSync('etcdserverpb/rpc.proto', {
  includeDirs: [PROTO_ROOT],
  keepCase: true,
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

const loaded = loadPackageDefinition(definition);
const etcdserverpb = loaded.etcdserverpb as GrpcObject;

export const services = {
  KV: etcdserverpb.KV as ServiceClientConstructor,
  Cluster: etcdserverpb.Cluster as ServiceClientConstructor,
  Maintenance: etcdserverpb.Maintenance as ServiceClientConstructor,
  Watch: etcdserverpb.Watch as ServiceClientConstructor,
  Lease: etcdserverpb.Lease as ServiceClientConstructor,
};
