// A bad-input case's raw HTTP/2 request, and what building one may need to know of its target.

import type { KeyTarget } from './messages.js';
import type { MethodInfo } from './schema.js';
import { grpcFrame } from './wire.js';

export interface RawRequest {
  readonly path: string;
  readonly httpMethod: string;
  readonly headers: Record<string, string | string[]>;
  /** Written one after another; for a stream, usually one gRPC message each. */
  readonly chunks: Buffer[];
}

/** What a case may need to know of the endpoint it is sent to. */
export interface TargetInfo {
  readonly memberIds: readonly bigint[];
  /** MemberAdd always as a learner: on a one-member server a voter that never starts takes quorum away. */
  readonly memberAddAsLearner?: boolean;
}

/** One drawn case before it is numbered and grouped. */
export interface Drawn {
  readonly description: string;
  /** True: valid protobuf and gRPC; false: must be rejected whole; null: unknown (random bytes). */
  readonly wellFormed: boolean | null;
  readonly keyTarget: KeyTarget;
  /** Another method than the drawn one, when the case's path names it. */
  readonly method?: MethodInfo;
  readonly build: (target: TargetInfo) => RawRequest;
}

export const GRPC_HEADERS = { 'content-type': 'application/grpc', te: 'trailers' } as const;

/** One gRPC message per body on `method`'s path. */
export function framed(method: MethodInfo, bodies: Buffer[]): RawRequest {
  return { path: method.path, httpMethod: 'POST', headers: { ...GRPC_HEADERS }, chunks: bodies.map((body) => grpcFrame(body)) };
}
