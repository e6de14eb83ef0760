// The Raft entry and Forward codecs carry lease IDs as exact int64s, while revisions stay numbers.

import { describe, expect, it } from 'vitest';
import {
  decodeForwardRequest,
  decodeForwardResponse,
  decodeInternalRequest,
  encodeForwardRequest,
  encodeForwardResponse,
  encodeInternalRequest,
  type InternalRequest,
} from '../../src/server/requests.js';

const IDS = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -1n, 7n];
const key = Buffer.from('k');

describe('InternalRequest', () => {
  it('round-trips every int64 lease ID exactly: grant, revoke, put, txn compare, puts in nested txns', () => {
    for (const id of IDS) {
      const request: InternalRequest = {
        member_id: 1,
        request_id: 2,
        lease_grant: { ID: id, TTL: 60 },
        lease_revoke: { ID: id },
        put: { key, lease: id },
        txn: {
          compare: [{ key, target: 4, lease: id }, { key, target: 2, mod_revision: 9 }],
          success: [{ request_put: { key, lease: id } }, { request_txn: { compare: [{ key, target: 4, lease: id }], failure: [{ request_put: { key, lease: id } }] } }],
          failure: [{ request_range: { key, revision: 3 } }, { request_put: { key } }],
        },
      };
      const decoded = decodeInternalRequest(encodeInternalRequest(request));
      expect(decoded.lease_grant).toEqual({ ID: id, TTL: 60 });
      expect(decoded.lease_revoke).toEqual({ ID: id });
      expect(decoded.put?.lease).toBe(id);
      const txn = decoded.txn!;
      expect(txn.compare![0].lease).toBe(id);
      expect(txn.compare![1].mod_revision).toBe(9);
      expect(txn.success![0].request_put!.lease).toBe(id);
      expect(txn.success![1].request_txn!.compare![0].lease).toBe(id);
      expect(txn.success![1].request_txn!.failure![0].request_put!.lease).toBe(id);
      expect(txn.failure![0].request_range!.revision).toBe(3);
      expect(txn.failure![1].request_put!.lease).toBeUndefined();
    }
  });

  it('decodes entries written with number lease IDs (as before IDs were 64-bit) to the same IDs', () => {
    const old = encodeInternalRequest({ member_id: 1, request_id: 2, put: { key, lease: 2 ** 53 - 1 } as never, lease_revoke: { ID: -42 } as never });
    const decoded = decodeInternalRequest(old);
    expect(decoded.put?.lease).toBe(2n ** 53n - 1n);
    expect(decoded.lease_revoke?.ID).toBe(-42n);
  });
});

describe('Forward', () => {
  it('carries keep-alive and time-to-live lease IDs exactly, both ways', () => {
    for (const id of IDS) {
      expect(decodeForwardRequest(encodeForwardRequest({ lease_renew: { ID: id } })).lease_renew?.ID).toBe(id);
      expect(decodeForwardRequest(encodeForwardRequest({ lease_time_to_live: { ID: id, keys: true } })).lease_time_to_live).toEqual({ ID: id, keys: true });
      expect(decodeForwardResponse(encodeForwardResponse({ lease_renew: { ID: id, TTL: 5 } })).lease_renew).toEqual({ ID: id, TTL: 5 });
      const ttl = decodeForwardResponse(encodeForwardResponse({ lease_time_to_live: { ID: id, TTL: 4, grantedTTL: 5, keys: [key] } })).lease_time_to_live!;
      expect(ttl.ID).toBe(id);
      expect([ttl.TTL, ttl.grantedTTL, ttl.keys?.map(String)]).toEqual([4, 5, ['k']]);
    }
  });
});
