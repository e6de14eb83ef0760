// Turns member failures into the gRPC status etcd uses for each, keeping etcd's message text
// (clients recognise errors by it).

import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { ServerError, ServerErrorCode } from '../server/errors.js';

const STATUS_BY_CODE: Record<ServerErrorCode, status> = {
  [ServerErrorCode.KeyNotProvided]: status.INVALID_ARGUMENT,
  [ServerErrorCode.ValueProvided]: status.INVALID_ARGUMENT,
  [ServerErrorCode.LeaseProvided]: status.INVALID_ARGUMENT,
  [ServerErrorCode.RequestTooLarge]: status.INVALID_ARGUMENT,
  [ServerErrorCode.TooManyRequests]: status.RESOURCE_EXHAUSTED,
  [ServerErrorCode.NoLeader]: status.UNAVAILABLE,
  [ServerErrorCode.Timeout]: status.UNAVAILABLE,
  [ServerErrorCode.Stopped]: status.UNAVAILABLE,
  [ServerErrorCode.BadConfig]: status.FAILED_PRECONDITION,
  [ServerErrorCode.MemberNotFound]: status.NOT_FOUND,
  [ServerErrorCode.PeerUrlExists]: status.FAILED_PRECONDITION,
  [ServerErrorCode.MemberNotLearner]: status.FAILED_PRECONDITION,
  [ServerErrorCode.LearnerNotReady]: status.FAILED_PRECONDITION,
  [ServerErrorCode.BadMemberUrls]: status.INVALID_ARGUMENT,
  [ServerErrorCode.Compacted]: status.OUT_OF_RANGE,
  [ServerErrorCode.FutureRevision]: status.OUT_OF_RANGE,
  [ServerErrorCode.KeyNotFound]: status.INVALID_ARGUMENT,
  [ServerErrorCode.BadRequest]: status.INVALID_ARGUMENT,
  [ServerErrorCode.TooManyOps]: status.INVALID_ARGUMENT,
  [ServerErrorCode.DuplicateKey]: status.INVALID_ARGUMENT,
  [ServerErrorCode.NoSpace]: status.RESOURCE_EXHAUSTED,
  [ServerErrorCode.LeaseNotFound]: status.NOT_FOUND,
  [ServerErrorCode.LeaseExists]: status.FAILED_PRECONDITION,
  [ServerErrorCode.LeaseTtlTooLarge]: status.OUT_OF_RANGE,
  [ServerErrorCode.NotLeader]: status.FAILED_PRECONDITION,
  [ServerErrorCode.BadLeaderTransferee]: status.FAILED_PRECONDITION,
  [ServerErrorCode.StoreBehindSnapshot]: status.DATA_LOSS,
  [ServerErrorCode.SnapshotSuperseded]: status.UNAVAILABLE,
  [ServerErrorCode.StagedSnapshotUnknown]: status.INTERNAL,
  [ServerErrorCode.ApplyFailed]: status.INTERNAL,
};

export function toGrpcError(error: unknown): Partial<ServiceError> {
  if (error instanceof ServerError) return { code: STATUS_BY_CODE[error.code], details: error.message, metadata: new Metadata() };
  return { code: status.INTERNAL, details: error instanceof Error ? error.message : String(error), metadata: new Metadata() };
}
