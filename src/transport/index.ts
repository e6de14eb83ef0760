// The public face of the peer transport: Raft messages between members over gRPC streams.

export { PeerTransport } from './transport.js';
export { transportDefaults, type IdentifyOptions, type TransportOptions } from './options.js';
export type { PeerIdentity } from './identify.js';
export type { PeerTlsOptions } from './credentials.js';
export type { PeerStats } from './peer.js';
export { bytesSource, type SnapshotMessage, type SnapshotSink, type SnapshotSource } from './snapshot-stream.js';
export type { TransportLogger } from './log.js';
export * from './errors.js';
// Thrown by addPeer, identify and listen, so callers of the transport catch them from here too.
export { GrpcInternalsChangedError, InvalidPeerUrlError } from '../grpc/errors.js';
