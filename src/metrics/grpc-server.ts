// go-grpc-prometheus's server metrics as etcd 3.4 exports them: grpc_server_started_total,
// grpc_server_handled_total (by status code, named as Go names them: "OK", "InvalidArgument", ...),
// grpc_server_msg_received_total and grpc_server_msg_sent_total, labelled by grpc_type,
// grpc_service and grpc_method. Like go-grpc-prometheus, every method of a served service is shown
// from the start, with every code at zero, so that rate() and the alert expressions have series.

import { Histogram } from 'prom-client';
import { CounterFamily, type CounterCell } from './cells.js';
import { registry } from './registry.js';

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** grpc-go's codes.Code names, indexed by the numeric code. */
export const GRPC_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable',
  'DataLoss', 'Unauthenticated',
] as const;

const METHOD_LABELS = ['grpc_type', 'grpc_service', 'grpc_method'];

const started = new CounterFamily('grpc_server_started_total', 'Total number of RPCs started on the server.', METHOD_LABELS);
const handled = new CounterFamily('grpc_server_handled_total', 'Total number of RPCs completed on the server, regardless of success or failure.', [...METHOD_LABELS, 'grpc_code']);
const msgReceived = new CounterFamily('grpc_server_msg_received_total', 'Total number of RPC stream messages received on the server.', METHOD_LABELS);
const msgSent = new CounterFamily('grpc_server_msg_sent_total', 'Total number of gRPC stream messages sent by the server.', METHOD_LABELS);

/** The series of one method, found once when its service is wrapped. */
export interface GrpcMethodCells {
  readonly started: CounterCell;
  /** Indexed by the numeric status code. */
  readonly handled: readonly CounterCell[];
  readonly msgReceived: CounterCell;
  readonly msgSent: CounterCell;
  /** With --metrics=extensive only: one call's time from its handler's start to its status. */
  observeHandling(seconds: number): void;
}

/**
 * grpc_server_handling_seconds, go-grpc-prometheus's latency histogram (its default buckets,
 * prom-client's too), which etcd 3.4 registers only under --metrics=extensive: it costs a
 * histogram observation per call. etcd's etcdGRPCRequestsSlow alert reads it.
 */
let handlingSeconds: Histogram | null = null;
const methodLabelSets: Array<Record<string, string>> = [];

/** Turns on grpc_server_handling_seconds for every method wrapped before or after (--metrics=extensive). */
export function enableExtensiveGrpcMetrics(): void {
  if (handlingSeconds !== null) return;
  handlingSeconds = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
    labelNames: METHOD_LABELS,
    registers: [registry],
  });
  for (const labels of methodLabelSets) handlingSeconds.zero(labels);
}

/** Whether calls are to be timed for grpc_server_handling_seconds. */
export function grpcHandlingTimed(): boolean {
  return handlingSeconds !== null;
}

/** `path`: "/package.Service/Method". */
export function grpcMethodCells(type: GrpcType, path: string): GrpcMethodCells {
  const slash = path.lastIndexOf('/');
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  const labels = { grpc_type: type, grpc_service: service, grpc_method: method };
  methodLabelSets.push(labels);
  handlingSeconds?.zero(labels);
  let timer: { observe(seconds: number): void } | null = null;
  return {
    started: started.cell(type, service, method),
    handled: GRPC_CODE_NAMES.map((code) => handled.cell(type, service, method, code)),
    msgReceived: msgReceived.cell(type, service, method),
    msgSent: msgSent.cell(type, service, method),
    observeHandling: (seconds) => {
      if (handlingSeconds === null) return;
      timer ??= handlingSeconds.labels(labels);
      timer.observe(seconds);
    },
  };
}
