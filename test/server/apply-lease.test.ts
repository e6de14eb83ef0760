// Applying puts and LEASE compares with int64 lease IDs: the order is signed 64-bit, as etcd's.

import { describe, expect, it } from 'vitest';
import { CompareResult, CompareTarget, applyPut, applyTxn, type ApplyContext } from '../../src/server/apply.js';
import type { Compare } from '../../src/server/requests.js';
import { b, openStore } from '../mvcc/helpers.js';

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);
const granted = new Set([MAX, MIN, 2n ** 53n + 1n, 2n ** 53n]);
const context: ApplyContext = { leaseExists: (id) => granted.has(id) };

describe('int64 leases in apply', () => {
  it('puts with exact leases, keeps one under ignore_lease, and compares LEASE in signed order', async () => {
    const store = await openStore();
    const write = (run: (txn: ReturnType<typeof store.write>) => unknown): unknown => {
      const txn = store.write();
      const result = run(txn);
      txn.end();
      return result;
    };
    write((txn) => applyPut(txn, { key: b('max'), value: b('v'), lease: MAX }, context));
    write((txn) => applyPut(txn, { key: b('min'), value: b('v'), lease: MIN }, context));
    write((txn) => applyPut(txn, { key: b('odd'), value: b('v'), lease: 2n ** 53n + 1n }, context));
    write((txn) => applyPut(txn, { key: b('max'), value: b('w'), ignore_lease: true }, context));
    expect(store.get(b('max'))?.lease).toBe(MAX);
    expect(store.get(b('odd'))?.lease).toBe(2n ** 53n + 1n);

    const holds = (key: string, result: number, lease: bigint): boolean => {
      const compare: Compare = { key: b(key), target: CompareTarget.Lease, result, lease };
      return (write((txn) => applyTxn(txn, { compare: [compare] }, context)) as { succeeded: boolean }).succeeded;
    };
    expect(holds('max', CompareResult.Equal, MAX)).toBe(true);
    expect(holds('max', CompareResult.Equal, MAX - 1n)).toBe(false);
    expect(holds('odd', CompareResult.Equal, 2n ** 53n)).toBe(false);
    expect(holds('odd', CompareResult.Greater, 2n ** 53n)).toBe(true);
    expect(holds('min', CompareResult.Equal, MIN)).toBe(true);
    expect(holds('min', CompareResult.Less, 0n)).toBe(true);
    expect(holds('min', CompareResult.Less, MIN)).toBe(false);
    expect(holds('max', CompareResult.Greater, MIN)).toBe(true);
    expect(holds('missing', CompareResult.Equal, 0n)).toBe(true);
  });
});
