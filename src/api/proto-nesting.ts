// proto-loader (which encodes every client response; requests go through wire/) carries its own
// copy of protobufjs, with the default nesting bound of 100 levels: a TxnResponse for a Txn 50 deep, which
// etcd serves, failed to encode. This gives that copy the server's bound (MESSAGE_NESTING_MAX).

import { createRequire } from 'node:module';
import { allowEtcdNesting } from '../server/requests.js';

const requireHere = createRequire(import.meta.url);

/** Raises proto-loader's protobufjs nesting bound to the server's; idempotent. */
export function allowEtcdNestingInProtoLoader(): void {
  const protoLoaderPath = requireHere.resolve('@grpc/proto-loader');
  allowEtcdNesting(createRequire(protoLoaderPath)('protobufjs'));
}
