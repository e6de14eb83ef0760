import { describe, expect, it } from 'vitest';
import { services } from '../../src/api/protos.js';
import { lastUnionField, lastUnionMemberWins } from '../../src/api/watch-request.js';

const method = (services.Watch.service as unknown as { Watch: { requestSerialize: (v: object) => Buffer; requestDeserialize: (b: Buffer) => any } }).Watch;
const create = method.requestSerialize({ create_request: { key: Buffer.from('k'), start_revision: 300 } });
const cancel = method.requestSerialize({ cancel_request: { watch_id: 2 } });
const progress = method.requestSerialize({ progress_request: {} });

describe('WatchRequest oneof, last member on the wire wins', () => {
  it('names the last oneof field on the wire', () => {
    expect(lastUnionField(Buffer.concat([create, cancel]))).toBe('cancel_request');
    expect(lastUnionField(Buffer.concat([cancel, create]))).toBe('create_request');
    expect(lastUnionField(Buffer.concat([cancel, progress, create, progress]))).toBe('progress_request');
    expect(lastUnionField(Buffer.alloc(0))).toBeNull();
  });

  it('stops at bytes that do not parse, keeping what it had', () => {
    expect(lastUnionField(Buffer.concat([cancel, Buffer.from([0x0a, 0x7f])]))).toBe('cancel_request');
  });

  it('makes the Watch deserializer keep only that member', () => {
    lastUnionMemberWins(services.Watch.service);
    const request = method.requestDeserialize(Buffer.concat([create, cancel]));
    expect(request.create_request).toBeUndefined();
    expect(request.cancel_request.watch_id).toBe(2);
    expect(method.requestDeserialize(Buffer.concat([cancel, create])).cancel_request).toBeUndefined();
  });
});
