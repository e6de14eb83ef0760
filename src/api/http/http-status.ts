// How etcd's gateway (grpc-gateway v1) turns a gRPC status into HTTP: the status code, and the
// bodies it writes for a failed call and for a failed stream.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { status } from '@grpc/grpc-js';

const HTTP_BY_GRPC: Record<number, number> = {
  [status.OK]: 200,
  [status.CANCELLED]: 408,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.UNAUTHENTICATED]: 401,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 412,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
};

export function httpStatusOf(code: number): number {
  return HTTP_BY_GRPC[code] ?? 500;
}

/** A gRPC status as a handler reports it (grpc-js's ServiceError shape). */
export interface GrpcStatus {
  readonly code: number;
  readonly details: string;
}

export function asGrpcStatus(error: unknown): GrpcStatus {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number') {
    const { code, details, message } = error as { code: number; details?: unknown; message?: unknown };
    return { code, details: typeof details === 'string' ? details : typeof message === 'string' ? message : '' };
  }
  return { code: status.UNKNOWN, details: error instanceof Error ? error.message : String(error) };
}

/** etcd answers CORS preflights and sets these on every answer of its client port. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'Access-Control-Allow-Headers': 'accept, content-type, authorization',
};

/** A failed unary call: `{"error": M, "message": M, "code": C}` with the mapped HTTP status. */
export function writeCallError(res: ServerResponse, failure: GrpcStatus): void {
  const body = JSON.stringify({ error: failure.details, message: failure.details, code: failure.code });
  res.writeHead(httpStatusOf(failure.code), { ...CORS_HEADERS, 'Content-Type': 'application/json' });
  res.end(body);
}

/** The body of a failed stream, after or instead of its results (grpc-gateway's StreamError). */
export function streamErrorChunk(failure: GrpcStatus): string {
  const httpCode = httpStatusOf(failure.code);
  return JSON.stringify({ error: { grpc_code: failure.code, http_code: httpCode, message: failure.details, http_status: HTTP_STATUS_TEXT[httpCode] ?? '' } });
}

const HTTP_STATUS_TEXT: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout',
  409: 'Conflict', 412: 'Precondition Failed', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Go's http.Error: a plain-text line (404 "Not Found", 405 "Method Not Allowed", ...). */
export function writePlainError(res: ServerResponse, httpStatus: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(httpStatus, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(`${text}\n`);
}

/** The request's path without its query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
