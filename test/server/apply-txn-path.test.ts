// A Txn's compares, the nested Txns' included, are decided before any of its ops runs, as etcd's
// compareToPath decides them: a nested compare sees the state before the Txn, not the writes of
// the ops before it.

import { describe, expect, it } from 'vitest';
import { CompareResult, CompareTarget, applyPut, applyTxn, type ApplyContext } from '../../src/server/apply.js';
import { b, openStore } from '../mvcc/helpers.js';

const context: ApplyContext = { leaseExists: () => false };

describe('nested txn compares', () => {
  it('are decided against the state before the txn', async () => {
    const store = await openStore();
    const write = <T>(run: (txn: ReturnType<typeof store.write>) => T): T => {
      const txn = store.write();
      const result = run(txn);
      txn.end();
      return result;
    };
    write((txn) => applyPut(txn, { key: b('k'), value: b('old') }, context));
    const outcome = write((txn) =>
      applyTxn(txn, {
        success: [
          { request_put: { key: b('k'), value: b('new') } },
          {
            request_txn: {
              compare: [{ key: b('k'), target: CompareTarget.Value, result: CompareResult.Equal, value: b('new') }],
              success: [{ request_put: { key: b('seen-new'), value: b('x') } }],
              failure: [{ request_put: { key: b('saw-old'), value: b('x') } }],
            },
          },
        ],
      }, context),
    );
    const nested = outcome.responses[1] as { txn: { succeeded: boolean } };
    expect(nested.txn.succeeded).toBe(false);
    expect(store.get(b('saw-old'))).toBeDefined();
    expect(store.get(b('seen-new'))).toBeUndefined();
    expect(Buffer.from(store.get(b('k'))!.value).toString()).toBe('new');
  });
});

describe('compares with a target or result etcd 3.4 does not know', () => {
  it('hold as etcd 3.4 has them: an unknown target compares equal, an unknown result holds', async () => {
    const store = await openStore();
    const txn = store.write();
    applyPut(txn, { key: b('k'), value: b('v') }, context);
    const holds = (target: number, result: number): boolean => applyTxn(txn, { compare: [{ key: b('k'), target, result }] }, context).succeeded;
    expect(holds(9, CompareResult.Equal)).toBe(true);
    expect(holds(9, CompareResult.NotEqual)).toBe(false);
    expect(holds(CompareTarget.Version, 9)).toBe(true);
    expect(holds(CompareTarget.Value, 9)).toBe(true);
    txn.end();
  });
});
