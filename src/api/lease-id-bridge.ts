// The strict decoder (wire/decoder.ts) reads lease IDs as exact bigints. Until the member takes
// bigint lease IDs (branch lease64), Put and Txn requests get them back as numbers here, rounded
// as proto-loader rounded them, so nothing downstream changes. The lease service's handlers
// already pass their IDs through Number(). Delete this file when the member takes bigints.

/** Turns PutRequest.lease into a number, in place (the request object is freshly decoded). */
export function putLeaseAsNumber<T extends { lease?: unknown }>(request: T): T {
  if (typeof request.lease === 'bigint') request.lease = Number(request.lease);
  return request;
}

interface TxnLike {
  compare?: Array<{ lease?: unknown }>;
  success?: OpLike[];
  failure?: OpLike[];
}
interface OpLike {
  request_put?: { lease?: unknown } | null;
  request_txn?: TxnLike | null;
}

/** Turns every Compare.lease and nested PutRequest.lease of a Txn into a number, in place. */
export function txnLeasesAsNumbers<T extends TxnLike>(request: T): T {
  // A list, not recursion: a Txn may nest deeper than the call stack goes.
  const pending: TxnLike[] = [request];
  for (let txn = pending.pop(); txn !== undefined; txn = pending.pop()) {
    for (const compare of txn.compare ?? []) if (typeof compare.lease === 'bigint') compare.lease = Number(compare.lease);
    for (const op of [...(txn.success ?? []), ...(txn.failure ?? [])]) {
      if (op.request_put) putLeaseAsNumber(op.request_put);
      if (op.request_txn) pending.push(op.request_txn);
    }
  }
  return request;
}
