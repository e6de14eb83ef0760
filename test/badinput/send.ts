// Sends a bad-input case over node:http2 and records what came back: gRPC status and message, and
// a short summary of each response message (header field left out, it differs between servers).

import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { RawRequest } from './request.js';
import { decodeFields } from './wire.js';

export interface Outcome {
  /** grpc-status, or null when none arrived (stream cancelled by us, reset, timeout). */
  readonly status: number | null;
  readonly message: string;
  readonly httpStatus: number | null;
  /** One line per response message, at most RESPONSES_MAX. */
  readonly responses: string[];
  /** What went wrong below gRPC: a stream reset, a dropped session, our own timeout. */
  readonly transport: string | null;
  /** The response messages themselves, at most RESPONSES_MAX. */
  readonly bodies: Buffer[];
}

export const RESPONSES_MAX = 20;

export interface SendOptions {
  /** How long a unary call may take before we give up on it. */
  readonly unaryTimeoutMs: number;
  /** How long a stream is read before we cancel it. */
  readonly streamWindowMs: number;
}

export const DEFAULT_SEND_OPTIONS: SendOptions = { unaryTimeoutMs: 10_000, streamWindowMs: 400 };

/** Response fields kept in a summary: everything but the header (field 1), defaults and event payloads. */
function summarize(body: Buffer): string {
  const fields = decodeFields(body);
  if (fields === null) return `undecodable ${body.length} bytes`;
  const parts: string[] = [];
  let events = 0;
  for (const { field, value } of fields) {
    if (field === 1) continue;
    // proto3 defaults may be written or left out; both mean the same.
    if (value === 0n || (Buffer.isBuffer(value) && value.length === 0)) continue;
    if (field === 11) { events++; continue; }
    parts.push(`${field}=${Buffer.isBuffer(value) ? (value.length <= 64 && /^[\x20-\x7e]*$/.test(value.toString('latin1')) ? JSON.stringify(value.toString('latin1')) : `<${value.length} bytes>`) : value}`);
  }
  if (events > 0) parts.push(`events=${events}`);
  return parts.join(' ');
}

function decodeGrpcMessage(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** One HTTP/2 connection to an endpoint, reopened when a case breaks it. */
export class RawGrpcConnection {
  private session: ClientHttp2Session | null = null;

  constructor(readonly authority: string) {}

  private open(): ClientHttp2Session {
    if (this.session !== null && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect(`http://${this.authority}`, { maxHeaderListPairs: 2000, maxSendHeaderBlockLength: 1 << 20 } as never);
    session.on('error', () => {});
    session.on('goaway', () => { if (this.session === session) this.session = null; });
    session.on('close', () => { if (this.session === session) this.session = null; });
    this.session = session;
    return session;
  }

  send(request: RawRequest, streaming: boolean, options: SendOptions = DEFAULT_SEND_OPTIONS): Promise<Outcome> {
    return new Promise((resolve) => {
      let session: ClientHttp2Session;
      try {
        session = this.open();
      } catch (error) {
        resolve({ status: null, message: '', httpStatus: null, responses: [], transport: `connect: ${String(error)}`, bodies: [] });
        return;
      }
      let status: number | null = null;
      let message = '';
      let httpStatus: number | null = null;
      let transport: string | null = null;
      const responses: string[] = [];
      const bodies: Buffer[] = [];
      let pending = Buffer.alloc(0);
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ status, message, httpStatus, responses, transport, bodies });
      };
      const readStatus = (headers: Record<string, unknown>): void => {
        if (headers['grpc-status'] !== undefined) {
          status = Number(headers['grpc-status']);
          message = decodeGrpcMessage(headers['grpc-message']);
        }
      };
      let stream;
      try {
        stream = session.request({ ':method': request.httpMethod, ':path': request.path, ...request.headers }, { endStream: false });
      } catch (error) {
        resolve({ status: null, message: '', httpStatus: null, responses: [], transport: `request: ${(error as Error).message}`, bodies: [] });
        return;
      }
      const timer = setTimeout(() => {
        if (!streaming) transport = 'timeout';
        stream.close(constants.NGHTTP2_CANCEL);
        finish();
      }, streaming ? options.streamWindowMs : options.unaryTimeoutMs);
      stream.on('response', (headers) => {
        httpStatus = Number(headers[':status']);
        readStatus(headers);
      });
      stream.on('trailers', (trailers) => readStatus(trailers));
      stream.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
          const length = pending.readUInt32BE(1);
          if (responses.length < RESPONSES_MAX) {
            bodies.push(pending.subarray(5, 5 + length));
            responses.push(summarize(pending.subarray(5, 5 + length)));
          }
          pending = pending.subarray(5 + length);
        }
        if (streaming && responses.length >= RESPONSES_MAX) {
          stream.close(constants.NGHTTP2_CANCEL);
          finish();
        }
      });
      stream.on('error', (error: Error) => { transport ??= error.message; });
      stream.on('close', () => {
        if (status === null && stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR && transport === null && !done) transport = `reset ${stream.rstCode}`;
        finish();
      });
      for (const chunk of request.chunks) stream.write(chunk);
      if (!streaming) stream.end();
    });
  }

  close(): void {
    this.session?.close();
    this.session = null;
  }
}
