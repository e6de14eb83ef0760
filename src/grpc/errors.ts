// One error class per failure of the shared gRPC plumbing, each with a stable `code`. They kept the
// codes and messages they had while this plumbing lived in src/transport: logs, the flags' checks and
// the transport's callers already know them, and moving files changes no behaviour.

export const GrpcPlumbingErrorCode = {
  InvalidPeerUrl: 'TRANSPORT_INVALID_PEER_URL',
  GrpcInternalsChanged: 'TRANSPORT_GRPC_INTERNALS_CHANGED',
} as const;
export type GrpcPlumbingErrorCode = (typeof GrpcPlumbingErrorCode)[keyof typeof GrpcPlumbingErrorCode];

export class GrpcPlumbingError extends Error {
  readonly code: GrpcPlumbingErrorCode;
  constructor(code: GrpcPlumbingErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A listen, peer or client URL that is not `http(s)://host:port` (see peer-url.ts). */
export class InvalidPeerUrlError extends GrpcPlumbingError {
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string) {
    super(GrpcPlumbingErrorCode.InvalidPeerUrl, `transport: invalid peer url ${JSON.stringify(url)}: ${reason}`);
    this.url = url;
    this.reason = reason;
  }
}

/** The installed grpc-js no longer has the private fields grpc-internals.ts relies on (see there). */
export class GrpcInternalsChangedError extends GrpcPlumbingError {
  constructor(detail: string) {
    super(GrpcPlumbingErrorCode.GrpcInternalsChanged, `transport: @grpc/grpc-js internals changed (${detail}); check grpc-internals.ts against this grpc-js version`);
  }
}
