// The public face of the peer transport: Raft messages between members over gRPC streams.

export { PeerTransport } from './transport.js';
export { serveStreamsAfterClientGoaway } from './client-goaway.js';
export { grpcHttp2Servers, setGrpcHttp2ServerOptions } from './grpc-internals.js';
export { transportDefaults, type IdentifyOptions, type TransportOptions } from './options.js';
export type { PeerIdentity } from './identify.js';
export type { PeerTlsOptions } from './credentials.js';
export { isValidPeerUrl, parsePeerUrl, type PeerAddress } from './peer-url.js';
export type { PeerStats } from './peer.js';
export { bytesSource, type SnapshotMessage, type SnapshotSink, type SnapshotSource } from './snapshot-stream.js';
export type { TransportLogger } from './log.js';
export * from './errors.js';
