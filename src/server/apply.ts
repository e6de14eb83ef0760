// Applying one committed client request to the revisioned store, with etcd's semantics. Every
// member applies the same entries in the same order, so everything here is deterministic: a request
// that cannot apply (an ignore_value put on a missing key, a compaction of the past) fails the same
// way everywhere and changes nothing, and the error goes back to the waiting client.

import { CompactedRevisionError, FutureRevisionError, MvccInvalidArgumentError, MvccLimitExceededError } from '../mvcc/errors.js';
import type { KeyValue, MvccStore, RangeOptions, RangeResult, WriteTxn } from '../mvcc/mvcc-store.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { requireKey } from './validate.js';
import { NO_LEASE, type LeaseId } from '../lease/lease-id.js';
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './requests.js';

export interface PutOutcome {
  readonly prevKv?: KeyValue;
}
export interface DeleteRangeOutcome {
  readonly deleted: number;
  readonly prevKvs: KeyValue[];
}
export interface TxnOutcome {
  readonly succeeded: boolean;
  readonly responses: OpOutcome[];
}
/**
 * One operation of a Txn, with the revision its response header carries: as in etcd, the
 * transaction's revision once it has changed something, the revision before it until then.
 */
export type OpOutcome = { readonly revision: number } & (
  | { readonly range: RangeResult }
  | { readonly put: PutOutcome }
  | { readonly deleteRange: DeleteRangeOutcome }
  | { readonly txn: TxnOutcome }
);

export const CompareResult = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 } as const;
export const CompareTarget = { Version: 0, Create: 1, Mod: 2, Value: 3, Lease: 4 } as const;

const EMPTY = new Uint8Array(0);

export function rangeOptions(request: RangeRequest): RangeOptions {
  return {
    revision: request.revision ?? 0,
    limit: request.limit ?? 0,
    countOnly: request.count_only ?? false,
    keysOnly: request.keys_only ?? false,
    minModRevision: request.min_mod_revision ?? 0,
    maxModRevision: request.max_mod_revision ?? 0,
    minCreateRevision: request.min_create_revision ?? 0,
    maxCreateRevision: request.max_create_revision ?? 0,
    sortOrder: (request.sort_order ?? 0) as RangeOptions['sortOrder'],
    sortTarget: (request.sort_target ?? 0) as RangeOptions['sortTarget'],
  };
}

/** Maps the store's revision errors to etcd's client errors (OutOfRange). */
export function translateStoreError(error: unknown): unknown {
  if (error instanceof CompactedRevisionError) return new ServerError(ServerErrorCode.Compacted, error.message, { cause: error });
  if (error instanceof FutureRevisionError) return new ServerError(ServerErrorCode.FutureRevision, error.message, { cause: error });
  if (error instanceof MvccLimitExceededError) return new ServerError(ServerErrorCode.RequestTooLarge, 'etcdserver: request is too large', { cause: error });
  if (error instanceof MvccInvalidArgumentError) return new ServerError(ServerErrorCode.BadRequest, error.message, { cause: error });
  return error;
}

/** Runs `body` in one write transaction: all of it applies at one revision, or none of it. */
export function inWriteTxn<T>(store: MvccStore, body: (txn: WriteTxn) => T): T {
  const txn = store.write();
  try {
    const result = body(txn);
    txn.end();
    return result;
  } catch (error) {
    txn.abort();
    throw translateStoreError(error);
  }
}

/** What applying needs to know beyond the store: the replicated lease set. */
export interface ApplyContext {
  leaseExists(id: LeaseId): boolean;
}

export function applyPut(txn: WriteTxn, put: PutRequest, context: ApplyContext): PutOutcome {
  requireKey(put.key);
  const ignoreValue = put.ignore_value ?? false;
  const ignoreLease = put.ignore_lease ?? false;
  let value = put.value ?? EMPTY;
  let lease = put.lease ?? NO_LEASE;
  if (ignoreValue || ignoreLease) {
    const [current] = txn.range(put.key, EMPTY).kvs;
    if (current === undefined) throw new ServerError(ServerErrorCode.KeyNotFound, 'etcdserver: key not found');
    if (ignoreValue) value = current.value;
    if (ignoreLease) lease = current.lease;
  }
  if (lease !== NO_LEASE && !context.leaseExists(lease)) throw new ServerError(ServerErrorCode.LeaseNotFound, 'etcdserver: requested lease not found');
  const prevKv = txn.put(put.key, value, lease);
  // The store reads a prevKv's value when first asked for; a spread reads it now, while applying,
  // so the answer does not depend on a later compaction.
  return put.prev_kv && prevKv !== undefined ? { prevKv: { ...prevKv } } : {};
}

export function applyDeleteRange(txn: WriteTxn, request: DeleteRangeRequest): DeleteRangeOutcome {
  requireKey(request.key);
  const prevKvs = txn.deleteRange(request.key, request.range_end ?? EMPTY);
  return { deleted: prevKvs.length, prevKvs: request.prev_kv ? prevKvs.map((kv) => ({ ...kv })) : [] };
}

/**
 * A Txn: the compares decide the branch; its operations then run in order inside `txn`. As etcd
 * does (compareToPath), every compare, the nested Txns' included, is decided first, against the
 * state before the Txn: a nested Txn's compare does not see the writes of the ops before it.
 */
export function applyTxn(txn: WriteTxn, request: TxnRequest, context: ApplyContext): TxnOutcome {
  const path = comparePath(txn, request);
  return applyTxnOnPath(txn, request, context, path);
}

/** The branch each Txn takes, the outer one first, then its chosen ops' nested Txns depth first. */
function comparePath(txn: WriteTxn, request: TxnRequest, path: boolean[] = []): boolean[] {
  const succeeded = (request.compare ?? []).every((compare) => compareHolds(txn, compare));
  path.push(succeeded);
  for (const op of (succeeded ? request.success : request.failure) ?? []) {
    if (op.request_txn !== undefined && op.request_txn !== null) comparePath(txn, op.request_txn, path);
  }
  return path;
}

/** Runs the Txn along `path`, taking its decisions from the front. */
function applyTxnOnPath(txn: WriteTxn, request: TxnRequest, context: ApplyContext, path: boolean[]): TxnOutcome {
  const succeeded = path.shift() ?? false;
  const ops = (succeeded ? request.success : request.failure) ?? [];
  return { succeeded, responses: ops.map((op) => applyOp(txn, op, context, path)) };
}

function applyOp(txn: WriteTxn, op: RequestOp, context: ApplyContext, path: boolean[]): OpOutcome {
  const revision = (): number => (txn.changes.length > 0 ? txn.revision : txn.revision - 1);
  if (op.request_range !== undefined && op.request_range !== null) {
    return { range: txn.range(op.request_range.key, op.request_range.range_end ?? EMPTY, rangeOptions(op.request_range)), revision: revision() };
  }
  if (op.request_put !== undefined && op.request_put !== null) {
    const put = applyPut(txn, op.request_put, context);
    return { put, revision: revision() };
  }
  if (op.request_delete_range !== undefined && op.request_delete_range !== null) {
    const deleteRange = applyDeleteRange(txn, op.request_delete_range);
    return { deleteRange, revision: revision() };
  }
  if (op.request_txn !== undefined && op.request_txn !== null) {
    const nested = applyTxnOnPath(txn, op.request_txn, context, path);
    return { txn: nested, revision: revision() };
  }
  throw new ServerError(ServerErrorCode.BadRequest, 'etcdserver: empty request operation');
}

/**
 * etcd's rule: every key in the compare's range must satisfy it. A missing key compares as zero
 * (version, revisions, lease), except that a VALUE compare on a missing key always fails.
 */
function compareHolds(txn: WriteTxn, compare: Compare): boolean {
  const { kvs } = txn.range(compare.key, compare.range_end ?? EMPTY);
  if (kvs.length === 0) {
    if ((compare.target ?? 0) === CompareTarget.Value) return false;
    return compareKeyValue(compare, { key: compare.key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: NO_LEASE });
  }
  return kvs.every((kv) => compareKeyValue(compare, kv));
}

function compareKeyValue(compare: Compare, kv: KeyValue): boolean {
  let order: number;
  switch (compare.target ?? 0) {
    case CompareTarget.Version:
      order = Math.sign(kv.version - (compare.version ?? 0));
      break;
    case CompareTarget.Create:
      order = Math.sign(kv.createRevision - (compare.create_revision ?? 0));
      break;
    case CompareTarget.Mod:
      order = Math.sign(kv.modRevision - (compare.mod_revision ?? 0));
      break;
    case CompareTarget.Value:
      order = Buffer.compare(Buffer.from(kv.value), Buffer.from(compare.value ?? EMPTY));
      break;
    case CompareTarget.Lease:
      order = compareLeaseIds(kv.lease, compare.lease ?? NO_LEASE);
      break;
    default:
      // etcd 3.4 compares nothing for a target it does not know: the order stays "equal".
      order = 0;
  }
  switch (compare.result ?? 0) {
    case CompareResult.Equal:
      return order === 0;
    case CompareResult.Greater:
      return order > 0;
    case CompareResult.Less:
      return order < 0;
    case CompareResult.NotEqual:
      return order !== 0;
    default:
      // etcd 3.4 counts a compare whose result it does not know as holding.
      return true;
  }
}

/** Signed int64 order, as etcd compares leases. */
function compareLeaseIds(a: LeaseId, b: LeaseId): number {
  return a > b ? 1 : a < b ? -1 : 0;
}
