// Watch create requests that etcd 3.4 refuses or cancels at once, answered byte for byte as etcd
// answers them (the header's values apart): a range that ends at or before its key, a negative
// start revision, and a WatchRequest carrying two members of its oneof. Each expected byte string
// was taken from etcd 3.4.23 with the same requests.

import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from '../../src/api/protos.js';
import { call, TestCluster, type MemberProcess } from './harness.js';

const bytes = (text: string): Buffer => Buffer.from(text);
const encodeRequest = (request: object): Buffer => (services.Watch.service.Watch.requestSerialize as (value: object) => Buffer)(request);

/** A Watch stream that sends and receives raw WatchRequest/WatchResponse bytes. */
class RawWatch {
  readonly responses: Buffer[] = [];
  private readonly client: Client;
  private readonly stream: ClientDuplexStream<Buffer, Buffer>;

  constructor(member: MemberProcess) {
    this.client = new Client(`127.0.0.1:${member.clientPort}`, credentials.createInsecure());
    this.stream = this.client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', (b: Buffer) => b, (b: Buffer) => b);
    this.stream.on('data', (response: Buffer) => this.responses.push(response));
    this.stream.on('error', () => {});
  }

  send(request: Buffer): void {
    this.stream.write(request);
  }

  /** Waits for `count` responses in all, then returns every response with its header field cut off. */
  async bodies(count: number, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.responses.map(withoutHeader);
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}

/** The response's bytes after its header (field 1, first on the wire), in hex; and whether the header has a revision. */
function withoutHeader(response: Buffer): string {
  expect(response[0]).toBe(0x0a);
  const length = response[1];
  expect(length).toBeLessThan(0x80);
  return response.subarray(2 + length).toString('hex');
}

function headerHasRevision(response: Buffer): boolean {
  const headerBytes = response.subarray(2, 2 + response[1]);
  for (let offset = 0; offset < headerBytes.length; ) {
    const tag = headerBytes[offset++];
    if (tag === 0x18) return true;
    while (headerBytes[offset++] >= 0x80);
  }
  return false;
}

const hex = (text: string): string => Buffer.from(text).toString('hex');
/** created, canceled, watch_id -1 and the reason: etcd's refusal of a create request. */
const refusal = (reason: string): string => `10ffffffffffffffffff0118012001${'32'}${reason.length.toString(16).padStart(2, '0')}${hex(reason)}`;
const CREATED_ID_0 = '1801';

describe('Watch create requests etcd refuses', () => {
  let cluster: TestCluster;
  let member: MemberProcess;
  const streams: RawWatch[] = [];
  const open = (): RawWatch => {
    const stream = new RawWatch(member);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start(1);
    [member] = cluster.members;
  }, 30_000);
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await cluster?.stop();
  });

  it('refuses range_end at or before the key with watch_id -1 and takes no id for it', async () => {
    const watch = open();
    watch.send(encodeRequest({ create_request: { key: bytes('b'), range_end: bytes('a') } }));
    watch.send(encodeRequest({ create_request: { key: bytes('b'), range_end: bytes('b'), watch_id: 7 } }));
    watch.send(encodeRequest({ create_request: { key: bytes('b'), range_end: Buffer.from([0]) } }));
    expect(await watch.bodies(3)).toEqual([refusal('mvcc: watcher range is empty'), refusal('mvcc: watcher range is empty'), CREATED_ID_0]);
  });

  it('refuses a duplicate id with watch_id -1, after the range check', async () => {
    const watch = open();
    watch.send(encodeRequest({ create_request: { key: bytes('a'), watch_id: 5 } }));
    watch.send(encodeRequest({ create_request: { key: bytes('a'), watch_id: 5 } }));
    watch.send(encodeRequest({ create_request: { key: bytes('a'), range_end: bytes('a'), watch_id: 5 } }));
    expect(await watch.bodies(3)).toEqual(['10051801', refusal('mvcc: duplicate watch ID provided on the WatchStream'), refusal('mvcc: watcher range is empty')]);
  });

  it('keeps the oneof member last on the wire, as grpc-go does', async () => {
    const createThenCancel = open();
    createThenCancel.send(Buffer.concat([encodeRequest({ create_request: { key: bytes('a') } }), encodeRequest({ cancel_request: { watch_id: 0 } })]));
    createThenCancel.send(encodeRequest({ create_request: { key: bytes('c') } }));
    // The first request cancels watcher 0, which does not exist: no answer; the second creates watcher 0.
    expect(await createThenCancel.bodies(1)).toEqual([CREATED_ID_0]);
    const cancelThenCreate = open();
    cancelThenCreate.send(Buffer.concat([encodeRequest({ cancel_request: { watch_id: 0 } }), encodeRequest({ create_request: { key: bytes('a'), watch_id: 4 } })]));
    expect(await cancelThenCreate.bodies(1)).toEqual(['10041801']);
  });

  it('cancels a negative start revision as compacted: -1 before any compaction, the compacted revision after', async () => {
    const before = open();
    before.send(encodeRequest({ create_request: { key: bytes('n'), start_revision: -2 } }));
    // compact_revision -1, canceled, no cancel_reason; the header carries no revision.
    expect(await before.bodies(2)).toEqual([CREATED_ID_0, `2001${'28ffffffffffffffffff01'}`]);
    expect(headerHasRevision(before.responses[1])).toBe(false);

    // -1 before any compaction is no compaction: a watcher from the next revision on.
    const fromNow = open();
    fromNow.send(encodeRequest({ create_request: { key: bytes('n'), start_revision: -1, watch_id: 3 } }));
    expect(await fromNow.bodies(1)).toEqual(['10031801']);
    const written = await call(cluster.client(member), 'Put', { key: bytes('n'), value: bytes('v') });
    await call(cluster.client(member), 'Put', { key: bytes('n'), value: bytes('w') });
    await call(cluster.client(member), 'Compact', { revision: Number(written.header.revision) });
    expect((await fromNow.bodies(3)).length).toBe(3);

    const after = open();
    after.send(encodeRequest({ create_request: { key: bytes('n'), start_revision: -1, watch_id: 3 } }));
    const compactAt = Number(written.header.revision);
    expect(compactAt).toBeLessThan(0x80);
    expect(await after.bodies(2)).toEqual(['10031801', `10032001${'28'}${compactAt.toString(16).padStart(2, '0')}`]);
    expect(headerHasRevision(after.responses[1])).toBe(false);
  });
});
