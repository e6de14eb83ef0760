// One error class per failure of the shared gRPC plumbing, each with a stable `code`. They kept the
// codes and messages they had while this plumbing lived in src/transport: logs, the flags' checks and
// the transport's callers already know them, and moving files changes no behaviour.

/** A listen, peer or client URL that is not `http(s)://host:port` (see peer-url.ts). */
export class InvalidPeerUrlError extends Error {
  readonly code = 'TRANSPORT_INVALID_PEER_URL';
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string) {
    super(`transport: invalid peer url ${JSON.stringify(url)}: ${reason}`);
    this.name = new.target.name;
    this.url = url;
    this.reason = reason;
  }
}

/** The installed grpc-js no longer has the private fields grpc-internals.ts relies on (see there). */
export class GrpcInternalsChangedError extends Error {
  readonly code = 'TRANSPORT_GRPC_INTERNALS_CHANGED';
  constructor(detail: string) {
    super(`transport: @grpc/grpc-js internals changed (${detail}); check grpc-internals.ts against this grpc-js version`);
    this.name = new.target.name;
  }
}
