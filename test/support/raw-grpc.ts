// gRPC calls as raw HTTP/2 frames, for requests no gRPC client would send: malformed messages,
// odd headers, a compressed-message flag.

import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';

export interface GrpcOutcome {
  status: number;
  message: string;
  /** Bytes of response messages received (their 5-byte prefixes included). */
  responses: number;
}

export interface RawCallOptions {
  /** Added to the request's headers (metadata, grpc-encoding). */
  headers?: OutgoingHttpHeaders;
  /** The compressed-flag byte of every message's prefix. */
  compressedFlag?: 0 | 1;
}

/** Sends each message (bytes, or hex) on one stream of `path`, then half-closes. */
export function rawCall(session: ClientHttp2Session, path: string, messages: Array<string | Uint8Array>, options: RawCallOptions = {}): Promise<GrpcOutcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...options.headers });
    let status: string | undefined;
    let message = '';
    let responseBytes = 0;
    const take = (headers: Record<string, unknown>): void => {
      if (headers['grpc-status'] !== undefined) {
        status = String(headers['grpc-status']);
        message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      }
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', (chunk: Buffer) => (responseBytes += chunk.length));
    stream.on('error', reject);
    stream.on('close', () => (status === undefined ? reject(new Error(`no grpc-status (rst ${stream.rstCode})`)) : resolve({ status: Number(status), message, responses: responseBytes })));
    for (const data of messages) {
      const body = typeof data === 'string' ? Buffer.from(data.replace(/\s+/g, ''), 'hex') : Buffer.from(data);
      const frame = grpcFrame(body);
      frame[0] = options.compressedFlag ?? 0;
      stream.write(frame);
    }
    stream.end();
  });
}

/** One gRPC message with its 5-byte prefix (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([prefix, message]);
}

export interface UnaryAnswer {
  /** null when the stream ended without one (refused or reset). */
  grpcStatus: string | null;
  rstCode: number;
}

/**
 * One unary call that never rejects: a refused or reset stream is an answer too. The HEADERS stay
 * queued in nghttp2 until the session's next flush, so a `session.close()` right after races them.
 */
export function unaryCall(session: ClientHttp2Session, path: string, message: Uint8Array): Promise<UnaryAnswer> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let grpcStatus: string | null = null;
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => (grpcStatus = String(trailers['grpc-status'])));
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('close', () => resolve({ grpcStatus, rstCode: stream.rstCode ?? 0 }));
    stream.end(grpcFrame(message));
  });
}
