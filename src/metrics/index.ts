// The public face of the metrics room: one Prometheus registry per process with etcd 3.4's metric
// names, types, labels and buckets, and Node's runtime metrics. A leaf: it imports only prom-client,
// and every room but raft may import it.

export { collectProcessMetrics, registry, renderMetrics, type MetricsText } from './registry.js';
export { CounterCell } from './cells.js';
export { heartbeatSendFailures, leaderChangesSeen, proposalsFailed, serverState, slowApplies, SLOW_APPLY_SECONDS, type ServerStateSource } from './etcd-server.js';
export { backendCommitSeconds, exponentialBuckets, secondsSince, walFsyncSeconds } from './etcd-disk.js';
export { storeState, type StoreStateSource } from './etcd-mvcc.js';
export { clientGrpcReceivedBytes, clientGrpcSentBytes, idLabel, peerCells, peerLinks, peerReceivedCell, type PeerCells, type PeerLinkSource } from './etcd-network.js';
export { enableExtensiveGrpcMetrics, GRPC_CODE_NAMES, grpcHandlingTimed, grpcMethodCells, type GrpcMethodCells, type GrpcType } from './grpc-server.js';
