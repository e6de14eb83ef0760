// etcd's JSON gateway: `POST /v3/...` with a JSON request, answered in JSON, by the same handler
// (and the same request decoder) the gRPC server uses for that method. A unary call answers one
// object; a streaming call (Watch, LeaseKeepAlive) answers a chunked stream of `{"result": ...}`
// lines, as grpc-gateway does.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import {
  Metadata,
  status,
  type MethodDefinition,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { GoJsonSyntaxError, type GoJsonNode } from './go-json.js';
import { CORS_HEADERS, asGrpcStatus, writeCallError, writeJson, writePlainError, type GrpcStatus } from './http-status.js';
import { HttpStreamCall, type HttpStreamCallOptions } from './http-stream-call.js';
import { JsonRequestError, NullListEntryError, TooDeepRequestError, etcdTypes, jsonToProtobuf, protobufToJson } from './json-codec.js';
import { readFirstJsonValue, readJsonValues } from './json-values.js';
import type { GatewayRoute } from './routes.js';

/** One method the gateway serves: how to decode, call and encode it. */
interface GatewayMethod {
  readonly path: string;
  readonly definition: MethodDefinition<unknown, unknown> | undefined;
  readonly handler: UntypedHandleCall | undefined;
  readonly requestType: protobuf.Type | undefined;
  readonly responseType: protobuf.Type | undefined;
  readonly service: string;
  readonly method: string;
}

export interface GatewayOptions {
  /** The largest protobuf request the gRPC server takes (its max receive message length). */
  readonly maxRequestBytes: number;
}

export class JsonGateway {
  private readonly methods = new Map<string, GatewayMethod>();

  /** `served`: the [definition, implementation] pairs the gRPC server serves, by service name. */
  constructor(served: ReadonlyMap<string, readonly [ServiceDefinition, UntypedServiceImplementation]>, routes: readonly GatewayRoute[], private readonly options: GatewayOptions) {
    const types = etcdTypes();
    for (const route of routes) {
      const [definition, implementation] = served.get(route.service) ?? [undefined, undefined];
      const protoMethod = types.lookupService(`etcdserverpb.${route.service}`).methods[route.method];
      protoMethod?.resolve();
      this.methods.set(route.path, {
        path: route.path,
        definition: definition?.[route.method] as MethodDefinition<unknown, unknown> | undefined,
        handler: implementation?.[route.method],
        requestType: protoMethod?.resolvedRequestType ?? undefined,
        responseType: protoMethod?.resolvedResponseType ?? undefined,
        service: route.service,
        method: route.method,
      });
    }
  }

  /** True when `path` is the gateway's: /v3 and what is under it, and etcd 3.4's /v3beta/ alias. */
  handles(path: string): boolean {
    return path === '/v3' || path.startsWith('/v3/') || path.startsWith('/v3beta/');
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    // etcd 3.4 serves /v3beta/... as /v3/... (the path is rewritten before Go's ServeMux sees it).
    const v3Path = path.startsWith('/v3beta/') ? `/v3/${path.slice('/v3beta/'.length)}` : path;
    // Go's ServeMux: the subtree's root without its slash, and a path that is not clean, are
    // redirected (301, the query kept, no body for a POST).
    const canonical = v3Path === '/v3' ? '/v3/' : cleanPath(v3Path);
    if (canonical !== v3Path) return redirect(req, res, canonical);
    const method = this.methods.get(v3Path);
    if (method === undefined) return writePlainError(res, 404, 'Not Found');
    if (req.method !== 'POST') return writePlainError(res, 405, 'Method Not Allowed');
    void this.readBody(req).then(
      (body) => {
        if (typeof body === 'number') {
          // The protobuf size is unknown (the body was not kept): the body's own size stands in.
          res.setHeader('Connection', 'close');
          return writeCallError(res, new RequestTooLarge(body, this.options.maxRequestBytes), { answered: true });
        }
        try {
          this.call(method, req, res, body);
        } catch (error) {
          // A request the gateway failed on is answered, never left to crash the member.
          if (!res.headersSent) writeCallError(res, { code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) }, { answered: true });
          else res.destroy();
        }
      },
      () => res.destroy(),
    );
  }

  private call(method: GatewayMethod, req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const { definition, handler, requestType, responseType } = method;
    if (definition === undefined || handler === undefined || requestType === undefined || responseType === undefined) {
      return writeCallError(res, { code: status.UNIMPLEMENTED, details: `unknown method ${method.method} for service etcdserverpb.${method.service}` }, { answered: true });
    }
    const metadata = metadataOf(req);
    const peer = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
    const toJson = (response: unknown): Record<string, unknown> => protobufToJson(responseType, definition.responseSerialize(response));
    if (definition.requestStream) return this.callStream(method.method, definition, requestType, handler, res, body, { metadata, peer, path: definition.path, toJson });
    let request: unknown;
    try {
      request = this.decode(definition, requestType, readFirstJsonValue(body));
    } catch (error) {
      return this.refuse(res, error, status.INVALID_ARGUMENT);
    }
    const call = { request, metadata, cancelled: false, getPeer: () => peer, getPath: () => definition.path, getDeadline: () => Infinity, on: () => call, once: () => call };
    if (definition.responseStream) {
      // A server-streaming method (none is served yet; Snapshot will be) runs as a stream whose one
      // request is already there.
      const streamCall = Object.assign(new HttpStreamCall(res, { metadata, peer, path: definition.path, toJson }), { request });
      (handler as (call: unknown) => void)(streamCall);
      return;
    }
    (handler as (call: unknown, callback: (error: unknown, response: unknown) => void) => void)(call, (error, response) => {
      if (error !== null && error !== undefined) return writeCallError(res, asGrpcStatus(error), { answered: true });
      // Encoding can fail (an answer past V8's longest string, say): it is answered, never thrown
      // into the handler's promise, where it would be an unhandled rejection.
      let text: string;
      try {
        text = JSON.stringify(toJson(response));
      } catch (encodeError) {
        return writeCallError(res, { code: status.INTERNAL, details: encodeError instanceof Error ? encodeError.message : String(encodeError) }, { answered: true });
      }
      writeJson(res, 200, text, SERVER_HEADERS);
    });
  }

  /**
   * A streaming call, as grpc-gateway runs one: the body's requests are sent one by one; one it
   * cannot read ends the sending there, and when it is the first, the call fails before it starts
   * with Go's error as an Unknown status (HTTP 500), as grpc-gateway returns a plain error then.
   */
  private callStream(
    methodName: string,
    definition: MethodDefinition<unknown, unknown>,
    requestType: protobuf.Type,
    handler: UntypedHandleCall,
    res: ServerResponse,
    body: Buffer,
    options: HttpStreamCallOptions,
  ): void {
    const { values, error: unreadable } = readJsonValues(body);
    const requests: unknown[] = [];
    let failure: unknown = unreadable;
    for (const value of values) {
      try {
        requests.push(this.decode(definition, requestType, value));
      } catch (error) {
        failure = error;
        break;
      }
    }
    if (requests.length === 0 && failure !== null) return this.refuse(res, failure, status.UNKNOWN);
    const call = new HttpStreamCall(res, options);
    (handler as (call: unknown) => void)(call);
    // The request side closes at the end of the body (or at the first unreadable request), which
    // ends a LeaseKeepAlive; etcd 3.4 keeps a watch open until the client goes.
    call.deliver(requests, { endAfter: methodName === 'LeaseKeepAlive' });
  }

  /** Answers a request the gateway could not turn into a gRPC request, as etcd's gateway does. */
  private refuse(res: ServerResponse, error: unknown, readErrorCode: number): void {
    if (error instanceof GoJsonSyntaxError || error instanceof JsonRequestError) return writeCallError(res, { code: readErrorCode, details: error.message }, { answered: false });
    if (error instanceof RequestTooLarge) return writeCallError(res, error, { answered: true });
    if (error instanceof TooDeepRequestError) return writeCallError(res, { code: status.INVALID_ARGUMENT, details: error.message }, { answered: true });
    // A null in a list of messages: etcd's gateway panics marshalling it, and its HTTP server drops the connection.
    if (error instanceof NullListEntryError) return void res.destroy();
    throw error;
  }

  /** A JSON request as the gRPC server's decoder reads it (the same checks as over gRPC). */
  private decode(definition: MethodDefinition<unknown, unknown>, requestType: protobuf.Type, value: GoJsonNode | null): unknown {
    const bytes = jsonToProtobuf(requestType, value);
    if (bytes.byteLength > this.options.maxRequestBytes) throw new RequestTooLarge(bytes.byteLength, this.options.maxRequestBytes);
    return definition.requestDeserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /**
   * Room for any request the server takes written as JSON: its bytes as base64 (4/3) plus field
   * names and punctuation. Bounded so that reading one body cannot hold the event loop, which
   * also runs Raft, for long: the whole body is parsed in one go.
   */
  private bodyBytesMax(): number {
    return Math.ceil((this.options.maxRequestBytes * 4) / 3) + JSON_ROOM_BYTES;
  }

  /** The body, or its size when that is over bodyBytesMax() (then nothing of it is kept). */
  private readBody(req: IncomingMessage): Promise<Buffer | number> {
    const max = this.bodyBytesMax();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      // A body that trickles in is not buffered forever.
      const deadline = setTimeout(() => req.destroy(), BODY_READ_TIMEOUT_MS);
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        // Past the limit the rest is read and dropped, so that the client, still sending, gets
        // the answer rather than a reset connection.
        if (bytes > max) chunks.length = 0;
        else chunks.push(chunk);
      });
      req.on('end', () => {
        clearTimeout(deadline);
        resolve(bytes > max ? bytes : Buffer.concat(chunks));
      });
      req.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
    });
  }
}

/** Go's cleanPath: path.Clean, keeping a trailing slash. */
function cleanPath(path: string): string {
  const cleaned = posix.normalize(path);
  return cleaned.endsWith('/') || !path.endsWith('/') ? cleaned : `${cleaned}/`;
}

/** Go's http.Redirect with 301 for a request that is not GET or HEAD: a Location and no body. */
function redirect(req: IncomingMessage, res: ServerResponse, path: string): void {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const location = query === -1 ? path : `${path}${url.slice(query)}`;
  if (req.method === 'GET' || req.method === 'HEAD') {
    const body = `<a href="${location.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;')}">Moved Permanently</a>.\n\n`;
    res.writeHead(301, { ...CORS_HEADERS, Location: location, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.writeHead(301, { ...CORS_HEADERS, Location: location, 'Content-Length': '0' });
  res.end();
}

/** The gRPC server's response header, content-type, as grpc-gateway forwards it on an answer. */
const SERVER_HEADERS = { 'Grpc-Metadata-Content-Type': 'application/grpc' };

/** Field names, quotes and commas around a request's base64 (see bodyBytesMax). */
const JSON_ROOM_BYTES = 256 * 1024;
/** How long a request's body may take to arrive in full. */
const BODY_READ_TIMEOUT_MS = 60_000;

class RequestTooLarge extends Error {
  readonly code = status.RESOURCE_EXHAUSTED;
  readonly details: string;
  constructor(bytes: number, max: number) {
    super(`grpc: received message larger than max (${bytes} vs. ${max})`);
    this.details = this.message;
    this.name = new.target.name;
  }
}

/**
 * The call's metadata, as grpc-gateway forwards headers: `Authorization` as `authorization`, and
 * `Grpc-Metadata-<key>` as `<key>` (how an HTTP client asks for `hasleader`).
 */
function metadataOf(req: IncomingMessage): Metadata {
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(req.headers)) {
    const key = name === 'authorization' ? name : name.startsWith('grpc-metadata-') ? name.slice('grpc-metadata-'.length) : null;
    if (key === null || key === '' || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      try {
        metadata.add(key, one);
      } catch {
        // A key gRPC metadata cannot carry (binary suffix without base64, say) is not forwarded.
      }
    }
  }
  return metadata;
}

export type { GrpcStatus };
