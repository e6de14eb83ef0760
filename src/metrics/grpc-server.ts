// go-grpc-prometheus's server metrics as etcd 3.4 exports them: grpc_server_started_total,
// grpc_server_handled_total (by status code, named as Go names them: "OK", "InvalidArgument", ...),
// grpc_server_msg_received_total and grpc_server_msg_sent_total, labelled by grpc_type,
// grpc_service and grpc_method. Like go-grpc-prometheus, every method of a served service is shown
// from the start, with every code at zero, so that rate() and the alert expressions have series.

import { CounterFamily, type CounterCell } from './cells.js';

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
}

/** `path`: "/package.Service/Method". */
export function grpcMethodCells(type: GrpcType, path: string): GrpcMethodCells {
  const slash = path.lastIndexOf('/');
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  return {
    started: started.cell(type, service, method),
    handled: GRPC_CODE_NAMES.map((code) => handled.cell(type, service, method, code)),
    msgReceived: msgReceived.cell(type, service, method),
    msgSent: msgSent.cell(type, service, method),
  };
}
