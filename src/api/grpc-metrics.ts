// go-grpc-prometheus's server metrics around a served gRPC service, as etcd 3.4 records them:
// grpc_server_started_total when a handler is called, grpc_server_handled_total with the status
// code the call ends with (named as grpc-go names codes: "OK", "InvalidArgument", ...),
// grpc_server_msg_received_total and grpc_server_msg_sent_total per message, and the bytes of
// those messages in etcd_network_client_grpc_{received,sent}_bytes_total; with --metrics=extensive,
// each call's handling time in grpc_server_handling_seconds.
//
// Messages and bytes are counted where grpc-js decodes requests and encodes responses (the
// service definition's (de)serializers, wrapped), so a stream's every message counts, as does a
// pre-encoded Watch or Range response. Calls are counted by wrapping each handler. Every counter is
// a plain number found once per method (src/metrics/cells.ts): a call costs a few additions and,
// for a unary call, one closure.

import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  ServiceError,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { clientGrpcReceivedBytes, clientGrpcSentBytes, GRPC_CODE_NAMES, grpcHandlingTimed, grpcMethodCells, type GrpcMethodCells, type GrpcType } from '../metrics/index.js';

const CODE_UNKNOWN = 2;
const CODE_CANCELLED = 1;

type Deserialize = (bytes: Buffer) => unknown;
type Serialize = (value: unknown) => Buffer;
type UnaryLike = (call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
type StreamingOut = (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => void;

/**
 * `definition` and `implementation` with every method measured; pass the pair on to
 * Server.addService as before. Every method of the definition shows from the start with zeros
 * (go-grpc-prometheus's InitializeMetrics), so rate() and etcd's alert expressions have series.
 */
export function withGrpcMetrics(definition: ServiceDefinition, implementation: UntypedServiceImplementation): [ServiceDefinition, UntypedServiceImplementation] {
  const measuredDefinition: Record<string, object> = {};
  const measuredImplementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const type: GrpcType = method.requestStream ? (method.responseStream ? 'bidi_stream' : 'client_stream') : method.responseStream ? 'server_stream' : 'unary';
    const cells = grpcMethodCells(type, method.path);
    measuredDefinition[name] = {
      ...method,
      requestDeserialize: countedDeserializer(method.requestDeserialize as Deserialize, cells),
      responseSerialize: countedSerializer(method.responseSerialize as Serialize, cells),
    };
    const handler = implementation[name];
    if (handler === undefined) continue;
    measuredImplementation[name] = (method.responseStream ? measureStreamingOut(handler as StreamingOut, cells) : measureUnaryLike(handler as UnaryLike, cells)) as UntypedHandleCall;
  }
  return [measuredDefinition as ServiceDefinition, measuredImplementation];
}

/** The status code a handler answered with: an error without a valid code is Unknown, as in grpc-js. */
function codeOf(error: Partial<ServiceError> | null | undefined): number {
  if (error === null || error === undefined) return 0;
  const code = error.code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < GRPC_CODE_NAMES.length ? code : CODE_UNKNOWN;
}

function countedDeserializer(deserialize: Deserialize, cells: GrpcMethodCells): Deserialize {
  return (bytes) => {
    cells.msgReceived.value += 1;
    clientGrpcReceivedBytes.value += bytes.byteLength;
    return deserialize(bytes);
  };
}

function countedSerializer(serialize: Serialize, cells: GrpcMethodCells): Serialize {
  return (value) => {
    const bytes = serialize(value);
    cells.msgSent.value += 1;
    clientGrpcSentBytes.value += bytes.byteLength;
    return bytes;
  };
}

/** Unary and client-streaming calls end with the handler's callback. */
function measureUnaryLike(handler: UnaryLike, cells: GrpcMethodCells): UnaryLike {
  return (call, callback) => {
    cells.started.value += 1;
    const startMs = grpcHandlingTimed() ? performance.now() : -1;
    // The callback's four parameters spelled out: no rest array per call.
    handler(call, (error, value, trailer, flags) => {
      cells.handled[codeOf(error as Partial<ServiceError> | null)]!.value += 1;
      if (startMs >= 0) cells.observeHandling((performance.now() - startMs) / 1000);
      callback(error, value, trailer, flags);
    });
  };
}

/**
 * Server-streaming and bidirectional calls end when the handler ends the stream (OK) or emits an
 * error on it (that error's code: grpc-js then ends the stream with it); counted once. A client's
 * cancel reaches a handler as the end of its input, and what the handler then does is what is
 * counted (usually OK: grpc-js tells a cancelled call from a completed one to no handler, emitting
 * 'cancelled' after both). A call gone before its handler ended it counts as Canceled.
 */
function measureStreamingOut(handler: StreamingOut, cells: GrpcMethodCells): StreamingOut {
  return (call) => {
    cells.started.value += 1;
    const startMs = grpcHandlingTimed() ? performance.now() : -1;
    let code = 0;
    let handled = false;
    const finish = (finalCode: number): void => {
      if (handled) return;
      handled = true;
      cells.handled[finalCode]!.value += 1;
      if (startMs >= 0) cells.observeHandling((performance.now() - startMs) / 1000);
    };
    call.on('error', (error: Partial<ServiceError>) => (code = codeOf(error)));
    call.once('finish', () => finish(code));
    call.once('cancelled', () => finish(CODE_CANCELLED));
    handler(call);
  };
}
