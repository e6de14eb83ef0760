// Checks on a Txn before it is proposed, with etcd's messages: a Txn that would fail them never
// reaches the log.

import { ServerError, ServerErrorCode } from './errors.js';
import type { PutRequest, RequestOp, TxnRequest } from './requests.js';

/** etcd's --max-txn-ops default. */
export const TXN_OPS_MAX = 128;

const EMPTY = new Uint8Array(0);

export function validateTxn(request: TxnRequest): void {
  checkOps(request, TXN_OPS_MAX);
  for (const branch of [request.success ?? [], request.failure ?? []]) checkBranch(branch);
}

/**
 * etcd's walk, in its order: a Txn may have at most `opsMax` compares, and as many ops in each
 * branch; a nested Txn gets what its parent left (opsMax less the parent's longest list), so the
 * budget also bounds the nesting (128 levels of one op each at most). Every op names a key.
 */
function checkOps(request: TxnRequest, opsMax: number): void {
  const longest = Math.max(request.compare?.length ?? 0, request.success?.length ?? 0, request.failure?.length ?? 0);
  if (longest > opsMax) throw new ServerError(ServerErrorCode.TooManyOps, 'etcdserver: too many operations in txn request');
  for (const compare of request.compare ?? []) requireKey(compare.key);
  for (const op of [...(request.success ?? []), ...(request.failure ?? [])]) {
    if (op.request_range) requireKey(op.request_range.key);
    else if (op.request_put) validatePut(op.request_put);
    else if (op.request_delete_range) requireKey(op.request_delete_range.key);
    else if (op.request_txn) checkOps(op.request_txn, opsMax - longest);
    else throw new ServerError(ServerErrorCode.KeyNotFound, 'etcdserver: key not found');
  }
}

/** A Put names its key, and does not both keep the current value (lease) and give a new one. */
export function validatePut(request: PutRequest): void {
  requireKey(request.key);
  if (request.ignore_value && (request.value?.byteLength ?? 0) > 0) throw new ServerError(ServerErrorCode.ValueProvided, 'etcdserver: value is provided');
  if (request.ignore_lease && BigInt(request.lease ?? 0n) !== 0n) {
    throw new ServerError(ServerErrorCode.LeaseProvided, 'etcdserver: lease is provided');
  }
}

/** Checked before proposing, and again when applying, so a request committed unchecked changes nothing. */
export function requireKey(key: Uint8Array | undefined): void {
  if (key === undefined || key.byteLength === 0) throw new ServerError(ServerErrorCode.KeyNotProvided, 'etcdserver: key is not provided');
}

/** Within one branch, no key may be written twice, and no put may fall inside a deleted range. */
function checkBranch(ops: readonly RequestOp[]): void {
  const puts = new Set<string>();
  const deletes: Array<{ low: Buffer; high: Buffer | null }> = [];
  collect(ops, puts, deletes);
  for (const key of puts) {
    const bytes = Buffer.from(key, 'latin1');
    for (const range of deletes) {
      if (Buffer.compare(bytes, range.low) >= 0 && (range.high === null ? Buffer.compare(bytes, range.low) === 0 : Buffer.compare(bytes, range.high) < 0)) {
        throw new ServerError(ServerErrorCode.DuplicateKey, 'etcdserver: duplicate key given in txn request');
      }
    }
  }
}

function collect(ops: readonly RequestOp[], puts: Set<string>, deletes: Array<{ low: Buffer; high: Buffer | null }>): void {
  for (const op of ops) {
    if (op.request_put) {
      requireKey(op.request_put.key);
      const key = Buffer.from(op.request_put.key).toString('latin1');
      if (puts.has(key)) throw new ServerError(ServerErrorCode.DuplicateKey, 'etcdserver: duplicate key given in txn request');
      puts.add(key);
    } else if (op.request_delete_range) {
      requireKey(op.request_delete_range.key);
      const end = op.request_delete_range.range_end ?? EMPTY;
      // "\0" as range_end means every key from `key` on.
      const high = end.byteLength === 0 ? null : end.byteLength === 1 && end[0] === 0 ? Buffer.from([0xff, 0xff, 0xff, 0xff]) : Buffer.from(end);
      deletes.push({ low: Buffer.from(op.request_delete_range.key), high });
    } else if (op.request_range) {
      requireKey(op.request_range.key);
    } else if (op.request_txn) {
      // A nested Txn runs only one of its branches; each must be consistent with the outer one.
      collect(op.request_txn.success ?? [], new Set(puts), [...deletes]);
      collect(op.request_txn.failure ?? [], new Set(puts), [...deletes]);
    }
  }
}

/** Whether a Txn may write (a put in any branch, nested Txns included): what NOSPACE refuses. */
export function txnWrites(request: TxnRequest): boolean {
  const writes = (ops: readonly RequestOp[] | undefined): boolean =>
    (ops ?? []).some((op) => Boolean(op.request_put) || (op.request_txn ? txnWrites(op.request_txn) : false));
  return writes(request.success) || writes(request.failure);
}
