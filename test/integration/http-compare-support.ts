// Shared by the HTTP differential tests (http-compare*.test.ts): plain node:http requests and
// streams, and how their answers are compared between etcd and raftkv (what is normalized and why is
// said in http-compare.test.ts).

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface System {
  readonly name: 'etcd' | 'raftkv';
  port: number;
  /** The revision of this system's first write; every revision is compared relative to it. */
  base: number;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: string;
}

/** What a request gets: an answer, or the connection closed without one. */
export type Outcome = Answer | { dropped: true };

/** Both have a body sent as given; `(system) => ...` when it depends on the system (a revision). */
export type Body = string | Buffer | ((system: System) => string);

/** The maximum request size both are started with (etcd's --max-request-bytes). */
export const MAX_REQUEST_BYTES = 8192;
/** etcd's gRPC server takes this much more than --max-request-bytes. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

export const b64 = (text: string): string => Buffer.from(text).toString('base64');

export const COMPARED_HEADERS = [
  'content-type', 'grpc-metadata-content-type', 'trailer', 'transfer-encoding', 'x-content-type-options', 'location',
  'access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers',
];

const ID_FIELDS = new Set(['cluster_id', 'member_id', 'leader', 'memberID']);
const REVISION_FIELDS = new Set(['revision', 'create_revision', 'mod_revision', 'compact_revision']);

export function signed(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}

/** Replaces what legitimately differs, by field name (and, for ids and TTLs, by where it is). */
export function normalize(value: unknown, system: System, key = '', parent = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => normalize(item, system, key, parent));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, system, k, key)]));
  }
  if (ID_FIELDS.has(key)) return '<id>';
  // Status lists alarms as text naming the member.
  if (key === 'errors' && typeof value === 'string') return value.replace(/memberID:\d+/, 'memberID:<id>');
  if (key === 'raft_term' || key === 'raftTerm') return '<term>';
  if (key === 'raftIndex' || key === 'raftAppliedIndex') return '<index>';
  if (key === 'dbSize' || key === 'dbSizeInUse') return '<bytes>';
  if (key === 'version' && parent === '') return /^\d+\.\d+\.\d+/.test(String(value)) ? '<semver>' : value;
  if (parent === 'members' && (key === 'ID' || key === 'name')) return `<${key}>`;
  if (parent === 'members' && (key === 'peerURLs' || key === 'clientURLs')) return /^http:\/\/127\.0\.0\.1:\d+$/.test(String(value)) ? '<url>' : value;
  if (REVISION_FIELDS.has(key)) return `base${signed(Number(value) - system.base)}`;
  return value;
}

/** One HTTP/1.1 request on its own connection; a connection closed without an answer is `dropped`. */
export function send(port: number, method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.message === 'socket hang up' ? resolve({ dropped: true }) : reject(error)));
    req.end(body);
  });
}

/** An answer as compared: status, the compared headers, the framing, the trailers and the normalized body. */
export function view(outcome: Outcome, system: System): unknown {
  if ('dropped' in outcome) return 'connection closed without an answer';
  const headers = Object.fromEntries(COMPARED_HEADERS.filter((name) => outcome.headers[name] !== undefined).map((name) => [name, outcome.headers[name]]));
  const framing = outcome.headers['content-length'] !== undefined ? 'sized' : outcome.headers['transfer-encoding'] === 'chunked' ? 'chunked' : 'until close';
  return { status: outcome.status, headers, framing, trailers: outcome.trailers, body: parseBody(outcome.body, system) };
}

/** A JSON body (or the JSON lines of a stream) normalized; anything else as text. */
export function parseBody(text: string, system: System): unknown {
  if (text === '') return '';
  try {
    return normalize(JSON.parse(text), system);
  } catch {
    // A stream: one JSON object a line, the last (an error chunk) without a newline.
    const lines = text.split('\n').filter((line) => line !== '');
    try {
      return { lines: lines.map((line) => normalize(JSON.parse(line), system)) };
    } catch {
      return text;
    }
  }
}

/** A streaming answer read line by line while it stays open. */
export interface OpenStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The next `count` JSON lines, normalized. */
  lines(count: number): Promise<unknown[]>;
  /** What is left once the server ends the answer (a failed stream's last chunk has no newline). */
  rest(): Promise<string>;
  /** Whether the server has ended the answer by now. */
  isEnded(): boolean;
  close(): void;
}

export function openStream(port: number, path: string, body: string, headers: Record<string, string>, system: System): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let buffered = '';
      const waiting: Array<() => void> = [];
      res.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        for (const wake of waiting.splice(0)) wake();
      });
      let endedNow = false;
      const ended = new Promise<void>((done) => res.on('close', () => {
        endedNow = true;
        done();
      }));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        lines: async (count) => {
          const out: unknown[] = [];
          while (out.length < count) {
            const newline = buffered.indexOf('\n');
            if (newline === -1) {
              await new Promise<void>((wake, fail) => {
                waiting.push(wake);
                const timer = setTimeout(() => fail(new Error(`${system.name}: stream gave ${out.length} of ${count} lines: ${JSON.stringify(out)} ${buffered}`)), 15_000);
                waiting.push(() => clearTimeout(timer));
              });
              continue;
            }
            out.push(normalize(JSON.parse(buffered.slice(0, newline)), system));
            buffered = buffered.slice(newline + 1);
          }
          return out;
        },
        rest: async () => {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_done, fail) => {
            timer = setTimeout(() => fail(new Error(`${system.name}: the stream did not end: ${buffered}`)), 30_000);
          });
          await Promise.race([ended, timeout]).finally(() => clearTimeout(timer));
          return buffered;
        },
        isEnded: () => endedNow,
        close: () => req.destroy(),
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    req.end(body);
  });
}

