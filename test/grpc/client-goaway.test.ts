// What src/grpc/client-goaway.ts relies on in Node's http2 core and in grpc-js, checked on a
// bare grpc-js Server over a real loopback socket. If a Node or grpc-js upgrade changes any of it,
// a test here fails: 'without the hook' failing means the hook may no longer be needed (Node or
// grpc-js now serve the stream themselves); 'with the hook' failing means it no longer works.

import http2 from 'node:http2';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { serveStreamsAfterClientGoaway } from '../../src/grpc/client-goaway.js';
import { GrpcInternalsChangedError } from '../../src/grpc/errors.js';
import { unaryCall, type UnaryAnswer } from '../support/raw-grpc.js';

const ECHO_PATH = '/goaway.Test/Echo';
const echoService = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer): Buffer => value,
    requestDeserialize: (bytes: Buffer): Buffer => bytes,
    responseSerialize: (value: Buffer): Buffer => value,
    responseDeserialize: (bytes: Buffer): Buffer => bytes,
  },
};

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown();
});

async function startServer(hooked: boolean): Promise<number> {
  const server = new Server();
  servers.push(server);
  server.addService(echoService, { echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  if (hooked) serveStreamsAfterClientGoaway(server);
  return port;
}

const echo = (session: http2.ClientHttp2Session): Promise<UnaryAnswer> => unaryCall(session, ECHO_PATH, Uint8Array.of(0x2a));

/** A first call, then a second one queued and session.close() in the same tick; the second's answer. */
async function callQueuedBeforeClose(port: number): Promise<UnaryAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  expect((await echo(session)).grpcStatus).toBe('0');
  const answer = echo(session);
  session.close();
  const result = await answer;
  // The client's 'close' comes once the server has closed its side of the socket too.
  await new Promise<void>((resolve) => (session.destroyed ? resolve() : session.once('close', () => resolve())));
  return result;
}

describe('a grpc-js Server and a call queued just before the client closes', () => {
  it('without the hook, Node refuses the call (REFUSED_STREAM): the reason the hook exists', async () => {
    const port = await startServer(false);
    expect(await callQueuedBeforeClose(port)).toEqual({ grpcStatus: null, rstCode: http2.constants.NGHTTP2_REFUSED_STREAM });
  });

  it('with the hook, the call is answered and the connection closes', async () => {
    const port = await startServer(true);
    for (let round = 0; round < 5; round++) expect(await callQueuedBeforeClose(port)).toEqual({ grpcStatus: '0', rstCode: 0 });
  });

  it('a Server without the private field the hook reads is refused at startup, not silently left unhooked', () => {
    expect(() => serveStreamsAfterClientGoaway({} as Server)).toThrow(GrpcInternalsChangedError);
  });
});
