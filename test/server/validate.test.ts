import { describe, expect, it } from 'vitest';
import type { RequestOp, TxnRequest } from '../../src/server/requests.js';
import { TXN_OPS_MAX, validateTxn } from '../../src/server/validate.js';

const put = (key: string): RequestOp => ({ request_put: { key: Buffer.from(key), value: Buffer.from('v') } });
/** `depth` Txns, each the only op of its parent's success branch, the innermost putting one key. */
function nested(depth: number, innermost: RequestOp = put('deep')): TxnRequest {
  let txn: TxnRequest = { success: [innermost] };
  for (let level = 1; level < depth; level++) txn = { success: [{ request_txn: txn }] };
  return txn;
}

describe('validateTxn, as etcd 3.4 checks a Txn', () => {
  it('accepts nesting while the ops budget lasts: 128 levels of one op, not 129', () => {
    expect(() => validateTxn(nested(50))).not.toThrow();
    expect(() => validateTxn(nested(TXN_OPS_MAX))).not.toThrow();
    expect(() => validateTxn(nested(TXN_OPS_MAX + 1))).toThrow('etcdserver: too many operations in txn request');
  });

  it('gives a nested Txn what its parent left of the budget', () => {
    const wide = (count: number, last: RequestOp): TxnRequest => ({ success: [...Array.from({ length: count - 1 }, (_, i) => put(`k${i}`)), last] });
    const inner = (count: number): TxnRequest => ({ success: Array.from({ length: count }, (_, i) => put(`n${i}`)) });
    expect(() => validateTxn(wide(100, { request_txn: inner(28) }))).not.toThrow();
    expect(() => validateTxn(wide(100, { request_txn: inner(29) }))).toThrow('etcdserver: too many operations in txn request');
  });

  it('refuses an op with no request in it as etcd does', () => {
    expect(() => validateTxn({ success: [{}] })).toThrow('etcdserver: key not found');
    expect(() => validateTxn(nested(3, {}))).toThrow('etcdserver: key not found');
  });
});
