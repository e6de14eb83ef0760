// withGrpcMetrics around etcd's KV and Watch services on a real gRPC server over loopback: the
// grpc_server_* series go-grpc-prometheus would show for the same calls, by status code name, and
// the client byte counters.

import { credentials, Server, ServerCredentials, status, type Client, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withGrpcMetrics } from '../../src/api/grpc-metrics.js';
import { services } from '../../src/api/protos.js';
import { strictService } from '../../src/api/wire/strict-services.js';
import { enableExtensiveGrpcMetrics, renderMetrics } from '../../src/metrics/index.js';
import { bucketBounds, parseExposition, samplesOf, valueOf, type Exposition } from '../support/prometheus-text.js';

const KV = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV' };
const WATCH = { grpc_type: 'bidi_stream', grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch' };

async function metrics(): Promise<Exposition> {
  return parseExposition((await renderMetrics()).body);
}

function unary(client: Client, method: string, request: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (request: object, callback: (error: Error | null, response: unknown) => void) => void>)[method]!.call(client, request, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** Opens a Watch stream, sends `requests`, and resolves with the responses and the final status code. */
function watch(client: Client, requests: object[], cancelAfterResponses?: number): Promise<{ responses: number; code: number }> {
  return new Promise((resolve) => {
    const stream = (client as unknown as { Watch(): ServerDuplexStream<object, object> }).Watch();
    let responses = 0;
    stream.on('data', () => {
      responses++;
      if (responses === cancelAfterResponses) (stream as unknown as { cancel(): void }).cancel();
    });
    stream.on('error', (error: { code: number }) => resolve({ responses, code: error.code }));
    stream.on('status', (result: { code: number }) => {
      if (result.code === status.OK) resolve({ responses, code: 0 });
    });
    for (const request of requests) stream.write(request);
    if (cancelAfterResponses === undefined) stream.end();
  });
}

describe('withGrpcMetrics', () => {
  let server: Server;
  let kv: Client;
  let watchClient: Client;

  beforeAll(async () => {
    server = new Server();
    const kvImplementation = {
      Range: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(null, { header: { revision: 7 }, kvs: [], count: 0 }),
      Put: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback({ code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' }, null),
      DeleteRange: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(new Error('no code'), null),
    };
    // Answers each request; a cancel of watch 99 ends the stream Unavailable; a watch on "hold"
    // keeps the stream open past the end of the client's input (until the client goes).
    const watchImplementation = {
      Watch: (call: ServerDuplexStream<Record<string, unknown>, unknown>) => {
        let hold = false;
        call.on('data', (request: Record<string, unknown>) => {
          const cancel = request.cancel_request as { watch_id?: number } | undefined;
          const create = request.create_request as { key?: Uint8Array } | undefined;
          if (create?.key !== undefined && Buffer.from(create.key).toString() === 'hold') hold = true;
          if (cancel?.watch_id === 99) call.emit('error', { code: status.UNAVAILABLE, details: 'etcdserver: no leader' });
          else call.write({ header: { revision: 1 }, created: true });
        });
        call.on('end', () => {
          if (!hold) call.end();
        });
      },
    };
    for (const [definition, implementation] of [
      strictService(services.KV.service, kvImplementation),
      strictService(services.Watch.service, watchImplementation),
    ]) {
      server.addService(...withGrpcMetrics(definition, implementation));
    }
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    kv = new services.KV(`127.0.0.1:${port}`, credentials.createInsecure());
    watchClient = new services.Watch(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(() => {
    kv?.close();
    watchClient?.close();
    server?.forceShutdown();
  });

  it('shows every method of a wrapped service at zero, with every code, before any call', async () => {
    const exposition = await metrics();
    expect(valueOf(exposition, 'grpc_server_started_total', { ...KV, grpc_method: 'Txn' })).toBe(0);
    expect(valueOf(exposition, 'grpc_server_handled_total', { ...KV, grpc_method: 'Txn', grpc_code: 'DeadlineExceeded' })).toBe(0);
    expect(valueOf(exposition, 'grpc_server_msg_received_total', { ...KV, grpc_method: 'Compact' })).toBe(0);
    expect(valueOf(exposition, 'grpc_server_msg_sent_total', WATCH)).toBe(0);
    const codes = exposition.samples.filter((sample) => sample.name === 'grpc_server_handled_total' && sample.labels.grpc_method === 'Range').map((sample) => sample.labels.grpc_code);
    expect(codes.sort()).toEqual([
      'Aborted', 'AlreadyExists', 'Canceled', 'DataLoss', 'DeadlineExceeded', 'FailedPrecondition', 'Internal', 'InvalidArgument', 'NotFound',
      'OK', 'OutOfRange', 'PermissionDenied', 'ResourceExhausted', 'Unauthenticated', 'Unavailable', 'Unimplemented', 'Unknown',
    ]);
  });

  it('counts unary calls by method and code name, their messages and bytes', async () => {
    const before = await metrics();
    await unary(kv, 'Range', { key: Buffer.from('a') });
    await unary(kv, 'Range', { key: Buffer.from('b') });
    await expect(unary(kv, 'Put', { key: Buffer.from('a') })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(unary(kv, 'DeleteRange', { key: Buffer.from('a') })).rejects.toMatchObject({ code: status.UNKNOWN });
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>): number => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('grpc_server_started_total', { ...KV, grpc_method: 'Range' })).toBe(2);
    expect(delta('grpc_server_handled_total', { ...KV, grpc_method: 'Range', grpc_code: 'OK' })).toBe(2);
    expect(delta('grpc_server_msg_received_total', { ...KV, grpc_method: 'Range' })).toBe(2);
    expect(delta('grpc_server_msg_sent_total', { ...KV, grpc_method: 'Range' })).toBe(2);
    expect(delta('grpc_server_handled_total', { ...KV, grpc_method: 'Put', grpc_code: 'InvalidArgument' })).toBe(1);
    expect(delta('grpc_server_handled_total', { ...KV, grpc_method: 'Put', grpc_code: 'OK' })).toBe(0);
    expect(delta('grpc_server_msg_sent_total', { ...KV, grpc_method: 'Put' })).toBe(0);
    expect(delta('grpc_server_handled_total', { ...KV, grpc_method: 'DeleteRange', grpc_code: 'Unknown' })).toBe(1);
    // Each request is a key field (2 + key bytes); each Range response a header with a revision.
    expect(delta('etcd_network_client_grpc_received_bytes_total', {})).toBe(4 * 3);
    expect(delta('etcd_network_client_grpc_sent_bytes_total', {})).toBeGreaterThan(0);
  });

  it('counts a stream once, with the code it ends with, and each of its messages', async () => {
    const before = await metrics();
    const createRequest = { create_request: { key: Buffer.from('k') } };
    expect(await watch(watchClient, [createRequest, createRequest, createRequest])).toEqual({ responses: 3, code: 0 });
    expect(await watch(watchClient, [createRequest, { cancel_request: { watch_id: 99 } }])).toEqual({ responses: 1, code: status.UNAVAILABLE });
    expect((await watch(watchClient, [{ create_request: { key: Buffer.from('hold') } }], 1)).code).toBe(status.CANCELLED);
    const delta = async (name: string, labels: Record<string, string>): Promise<number> => {
      const after = await metrics();
      return valueOf(after, name, labels) - valueOf(before, name, labels);
    };
    expect(await delta('grpc_server_started_total', WATCH)).toBe(3);
    expect(await delta('grpc_server_handled_total', { ...WATCH, grpc_code: 'OK' })).toBe(1);
    expect(await delta('grpc_server_handled_total', { ...WATCH, grpc_code: 'Unavailable' })).toBe(1);
    // A stream its handler never ended: the server hears of the client's cancel a moment after the client has its status.
    for (let attempt = 0; (await delta('grpc_server_handled_total', { ...WATCH, grpc_code: 'Canceled' })) === 0 && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await delta('grpc_server_handled_total', { ...WATCH, grpc_code: 'Canceled' })).toBe(1);
    expect(await delta('grpc_server_msg_received_total', WATCH)).toBe(6);
    expect(await delta('grpc_server_msg_sent_total', WATCH)).toBe(5);
  });

  // Last: --metrics=extensive cannot be turned off in a process.
  it('times calls in grpc_server_handling_seconds only under --metrics=extensive, with go-grpc-prometheus\'s buckets', async () => {
    await unary(kv, 'Range', { key: Buffer.from('a') });
    expect(samplesOf(await metrics(), 'grpc_server_handling_seconds_count')).toEqual([]);
    enableExtensiveGrpcMetrics();
    const before = await metrics();
    expect(before.help.get('grpc_server_handling_seconds')).toBe('Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.');
    expect(before.type.get('grpc_server_handling_seconds')).toBe('histogram');
    expect(valueOf(before, 'grpc_server_handling_seconds_count', { ...KV, grpc_method: 'Txn' })).toBe(0);
    await unary(kv, 'Range', { key: Buffer.from('a') });
    expect(await watch(watchClient, [{ create_request: { key: Buffer.from('k') } }])).toEqual({ responses: 1, code: 0 });
    const after = await metrics();
    expect(valueOf(after, 'grpc_server_handling_seconds_count', { ...KV, grpc_method: 'Range' })).toBe(1);
    expect(valueOf(after, 'grpc_server_handling_seconds_count', WATCH)).toBe(1);
    // As etcd 3.4.23 --metrics=extensive prints them (Prometheus's default buckets).
    expect(bucketBounds(after, 'grpc_server_handling_seconds', { ...KV, grpc_method: 'Range' })).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
  });
});
