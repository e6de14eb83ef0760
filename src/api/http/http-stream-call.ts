// A bidirectional gRPC call (Watch, LeaseKeepAlive) carried over one HTTP/1.1 request, as etcd's
// gateway carries it: the requests come from the body, each response goes out as a chunk
// `{"result": ...}` and a newline, and a failure as a last chunk `{"error": {...}}` (no newline),
// under the failure's HTTP status when it comes before the first result (etcd 3.4.23 answers a
// hasleader watch on a member without a leader so: 503, chunked, the error chunk). It offers the
// handlers what they use of grpc-js's ServerDuplexStream: 'data', 'end', 'cancelled', 'drain',
// write(), end(), and emit('error', status) to fail the call.

import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Metadata } from '@grpc/grpc-js';
import { CORS_HEADERS, asGrpcStatus, httpStatusOf, streamErrorChunk } from './http-status.js';

export interface HttpStreamCallOptions {
  readonly metadata: Metadata;
  readonly peer: string;
  readonly path: string;
  readonly toJson: (response: unknown) => Record<string, unknown>;
}

export class HttpStreamCall extends EventEmitter {
  readonly metadata: Metadata;
  cancelled = false;
  private headersSent = false;
  private finished = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: HttpStreamCallOptions,
  ) {
    super();
    this.metadata = options.metadata;
    // A watch may rightly say nothing for hours: no idle timeout on this response's connection.
    res.setTimeout(0);
    // As grpc-js does for a server stream: an emitted 'error' is the call's final status.
    this.on('error', (error: unknown) => this.fail(error));
    res.on('drain', () => this.emit('drain'));
    res.on('close', () => {
      if (this.finished) return;
      this.finished = true;
      this.cancelled = true;
      this.emit('cancelled');
    });
  }

  getPeer(): string {
    return this.options.peer;
  }

  getPath(): string {
    return this.options.path;
  }

  /** Hands the body's requests to the handler, then ends the request side if `endAfter`. */
  deliver(requests: readonly unknown[], { endAfter }: { endAfter: boolean }): void {
    // On the next turn: the handler has registered its listeners by then, as with grpc-js.
    setImmediate(() => {
      for (const request of requests) {
        if (this.finished) return;
        this.emit('data', request);
      }
      if (endAfter && !this.finished) this.emit('end');
    });
  }

  write(response: unknown): boolean {
    if (this.finished) return false;
    this.sendHeaders(200);
    return this.res.write(`${JSON.stringify({ result: this.options.toJson(response) })}\n`);
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    // grpc-js's server streams emit 'finish' when they end (the metrics wrapper counts it).
    this.emit('finish');
    // A stream that ends without a message has sent no gRPC header for grpc-gateway to forward.
    this.sendHeaders(200, { withServerHeader: false });
    this.res.end();
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.emit('finish');
    const failure = asGrpcStatus(error);
    // Before any result the gRPC server has sent no header for grpc-gateway to forward.
    this.sendHeaders(httpStatusOf(failure.code), { withServerHeader: false });
    this.res.end(streamErrorChunk(failure));
  }

  /** With the gRPC server's response header forwarded, as grpc-gateway does once the stream has one. */
  private sendHeaders(httpStatus: number, { withServerHeader = true }: { withServerHeader?: boolean } = {}): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const serverHeader = withServerHeader ? { 'Grpc-Metadata-Content-Type': 'application/grpc' } : {};
    this.res.writeHead(httpStatus, { ...CORS_HEADERS, 'Content-Type': 'application/json', ...serverHeader, 'Transfer-Encoding': 'chunked' });
  }
}
