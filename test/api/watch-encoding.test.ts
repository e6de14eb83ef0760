import { describe, expect, it } from 'vitest';
import { services } from '../../src/api/protos.js';
import { WatchResponseEncoder, acceptPreEncodedWatchResponses, eventMessage } from '../../src/api/watch-encoding.js';
import { header, keyValue } from '../../src/api/handlers.js';
import type { Event } from '../../src/mvcc/mvcc-store.js';

const method = (services.Watch.service as unknown as { Watch: { responseSerialize: (v: object) => Buffer; responseDeserialize: (b: Buffer) => object } }).Watch;
const plain = acceptPreEncodedWatchResponses(services.Watch.service);
const decode = (bytes: Buffer): object => method.responseDeserialize(bytes);

const kv = (key: string, value: string, modRevision: number) => ({ key: Buffer.from(key), value: Buffer.from(value), createRevision: 2, modRevision, version: modRevision - 1, lease: 0n });
const put: Event = { type: 'put', kv: kv('a', 'new', 7), prevKv: kv('a', 'old', 5) };
const del: Event = { type: 'delete', kv: { ...kv('b', '', 7), version: 0, createRevision: 0 }, prevKv: kv('b', 'gone', 6) };
const responseHeader = { clusterId: 11, memberId: 22, revision: 7, raftTerm: 3 };

describe('WatchResponseEncoder', () => {
  it('builds the bytes that decode to the same response as encoding the whole object', () => {
    const encoder = new WatchResponseEncoder(plain);
    for (const withPrevKv of [true, false]) {
      const built = encoder.response(responseHeader, 42, [put, del], withPrevKv);
      const whole = plain({ header: header(responseHeader), watch_id: 42, events: [put, del].map((event) => eventMessage(event, withPrevKv)) });
      expect(decode(built)).toEqual(decode(whole));
    }
  });

  it('leaves out watch_id 0 and a put event\'s type 0, as etcd does', () => {
    const built = new WatchResponseEncoder(plain).response(responseHeader, 0, [put], false);
    expect(built).toEqual(Buffer.concat([plain({ header: header(responseHeader) }), plain({ events: [{ kv: keyValue(put.kv) }] })]));
  });

  it('shares one encoding of an event between watchers, and keeps their watch ids apart', () => {
    const encoder = new WatchResponseEncoder(plain);
    const first = decode(encoder.response(responseHeader, 1, [put], false)) as { watch_id: number; events: unknown[] };
    const second = decode(encoder.response({ ...responseHeader }, 2, [put], false)) as { watch_id: number; events: unknown[] };
    expect(first.watch_id).toBe(1);
    expect(second.watch_id).toBe(2);
    expect(second.events).toEqual(first.events);
  });

  it('encodes a change once, even when a catch-up hands it over as a new Event object', () => {
    let encodedEvents = 0;
    const encoder = new WatchResponseEncoder((value) => {
      if ('events' in value) encodedEvents++;
      return plain(value);
    });
    encoder.response(responseHeader, 1, [put, del], true);
    encoder.response(responseHeader, 2, [{ ...put }, { ...del }], true);
    expect(encodedEvents).toBe(2);
    encoder.response(responseHeader, 3, [put], false); // without prev_kv: another encoding
    expect(encodedEvents).toBe(3);
  });

  it('leaves the service encoding objects as before, and passes pre-encoded bytes through', () => {
    const bytes = Buffer.from([1, 2, 3]);
    expect(method.responseSerialize(bytes)).toBe(bytes);
    const object = { header: header(responseHeader), watch_id: 5, created: true };
    expect(decode(method.responseSerialize(object))).toEqual(decode(plain(object)));
    // Idempotent: a second server in the same process does not wrap the wrapper.
    expect(acceptPreEncodedWatchResponses(services.Watch.service)).toBe(plain);
  });
});
