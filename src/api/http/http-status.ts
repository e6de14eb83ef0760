// How etcd 3.4's gateway (grpc-gateway v1, a version between v1.5 and v1.9.4: its errors carry
// `message`, FailedPrecondition is 412) turns a gRPC status into HTTP: the status code, and the
// bodies it writes for a failed call and for a failed stream.

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
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
  // etcd 3.4.23 answers 412 (its grpc-gateway predates v1.9.5, which changed this to 400).
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

/** The trailer a gRPC server sends with a failed call, which grpc-gateway forwards. */
const GRPC_TRAILER = 'Grpc-Trailer-Content-Type';

/**
 * A failed call: `{"error": M, "message": M, "code": C}` with the mapped HTTP status (jsonpb leaves
 * out an empty message). When the gRPC server answered the failure (`answered`), grpc-gateway
 * forwards the server's trailer, content-type, as an HTTP trailer; a request it could not even
 * read never reached the server and has none.
 */
export function writeCallError(res: ServerResponse, failure: GrpcStatus, { answered }: { answered: boolean }): void {
  const body = JSON.stringify(failure.details === '' ? { code: failure.code } : { error: failure.details, message: failure.details, code: failure.code });
  if (answered) {
    res.writeHead(httpStatusOf(failure.code), { ...CORS_HEADERS, 'Content-Type': 'application/json', Trailer: GRPC_TRAILER });
    res.write(body);
    res.addTrailers({ [GRPC_TRAILER]: 'application/grpc' });
    res.end();
    return;
  }
  writeJson(res, httpStatusOf(failure.code), body);
}

/** A whole JSON answer, with its length, as Go's server sends a short answer written at once. */
export function writeJson(res: ServerResponse, httpStatus: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(httpStatus, { ...CORS_HEADERS, 'Content-Type': 'application/json', ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/**
 * The last chunk of a stream that fails after its first result (grpc-gateway's StreamError, a
 * proto message written by jsonpb: zero fields left out; no newline after it).
 */
export function streamErrorChunk(failure: GrpcStatus): string {
  const httpCode = httpStatusOf(failure.code);
  const error: Record<string, unknown> = { grpc_code: failure.code, http_code: httpCode, message: failure.details, http_status: STATUS_CODES[httpCode] ?? '' };
  for (const [name, value] of Object.entries(error)) if (value === 0 || value === '') delete error[name];
  return JSON.stringify({ error });
}

/** Go's http.Error: a plain-text line (404 "Not Found", 405 "Method Not Allowed", ...). */
export function writePlainError(res: ServerResponse, httpStatus: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(httpStatus, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** The request's path without its query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
