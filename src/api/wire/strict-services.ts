// Puts the strict decoder (decoder.ts) under every client service, and answers a malformed request
// as etcd 3.4 (grpc-go) does: INTERNAL with the decoder's text, for unary calls
//   "grpc: error unmarshalling request: <error>",
// and for a message on a stream (Watch, LeaseKeepAlive), which ends the stream,
//   "grpc: failed to unmarshal the received message <error>".
// A deserializer that throws would make grpc-js answer "Error deserializing request" instead, so
// the deserializer returns a MalformedRequest and the wrapped handlers answer it; the handlers
// themselves never see one.

import {
  Metadata,
  status,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { decodeStrict, WireFormatError } from './decoder.js';
import { loadEtcdRoot, requestSpecsByPath, type MessageSpec } from './schema.js';

export const UNARY_UNMARSHAL_ERROR_PREFIX = 'grpc: error unmarshalling request: ';
export const STREAM_UNMARSHAL_ERROR_PREFIX = 'grpc: failed to unmarshal the received message ';

const CLIENT_SERVICES = ['etcdserverpb.KV', 'etcdserverpb.Watch', 'etcdserverpb.Lease', 'etcdserverpb.Cluster', 'etcdserverpb.Maintenance'];

/** A request etcd would refuse to unmarshal, with the decoder's reason. */
export class MalformedRequest {
  constructor(readonly reason: string) {}
}

let specsByPath: Map<string, MessageSpec> | null = null;

/** The field tables of every client request type, built on first use. */
export function requestSpecs(): Map<string, MessageSpec> {
  specsByPath ??= requestSpecsByPath(loadEtcdRoot(), CLIENT_SERVICES);
  return specsByPath;
}

/** The request decoder of one method: a request object, or a MalformedRequest. */
export function strictDeserializer(path: string): (bytes: Buffer) => Record<string, unknown> | MalformedRequest {
  const spec = requestSpecs().get(path);
  if (spec === undefined) throw new Error(`strict decoder: no request type for ${path}`);
  return (bytes) => {
    try {
      return decodeStrict(spec, bytes);
    } catch (error) {
      if (error instanceof WireFormatError) return new MalformedRequest(error.message);
      throw error;
    }
  };
}

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
type BidiHandler = (call: ServerDuplexStream<unknown, unknown>) => void;

function refuseMalformedUnary(handler: UnaryHandler): UnaryHandler {
  return (call, callback) => {
    const request = call.request;
    if (request instanceof MalformedRequest) {
      callback({ code: status.INTERNAL, details: UNARY_UNMARSHAL_ERROR_PREFIX + request.reason, metadata: new Metadata() }, null);
      return;
    }
    handler(call, callback);
  };
}

/**
 * The first malformed message ends the stream with etcd's status, as the handlers end a stream
 * (emitting 'error'); it and every later message are kept from the handler.
 */
function refuseMalformedStream(handler: BidiHandler): BidiHandler {
  return (call) => {
    const emit = call.emit as (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
    let refused = false;
    call.emit = function (this: ServerDuplexStream<unknown, unknown>, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'data' && (refused || args[0] instanceof MalformedRequest)) {
        if (!refused) {
          refused = true;
          emit.call(this, 'error', { code: status.INTERNAL, details: STREAM_UNMARSHAL_ERROR_PREFIX + (args[0] as MalformedRequest).reason });
        }
        return true;
      }
      return emit.call(this, event, ...args);
    } as typeof call.emit;
    handler(call);
  };
}

/**
 * A copy of `definition` whose requests go through the strict decoder, and `implementation` with
 * every handler answering malformed requests as etcd does.
 */
export function strictService(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
): [ServiceDefinition, UntypedServiceImplementation] {
  const strictDefinition: Record<string, object> = {};
  const strictImplementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    strictDefinition[name] = { ...method, requestDeserialize: strictDeserializer(method.path) };
    const handler = implementation[name] as UntypedHandleCall | undefined;
    if (handler === undefined) continue;
    if (!method.requestStream && !method.responseStream) strictImplementation[name] = refuseMalformedUnary(handler as UnaryHandler) as UntypedHandleCall;
    else if (method.requestStream && method.responseStream) strictImplementation[name] = refuseMalformedStream(handler as BidiHandler) as UntypedHandleCall;
    else throw new Error(`strict decoder: ${method.path} is neither unary nor bidirectional, which the client API does not use`);
  }
  return [strictDefinition as ServiceDefinition, strictImplementation];
}
