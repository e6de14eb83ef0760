// A call a client sends just before it closes its connection is answered (issue 14). Closing, a
// client sends GOAWAY(NO_ERROR) and, in the same write, the HEADERS of a call it queued a moment
// earlier; Node's http2 core closes the session on that GOAWAY and refuses the call, grpc-go (etcd)
// answers it. src/grpc/client-goaway.ts makes both of a member's gRPC servers do as grpc-go
// does. These tests fail if a Node or grpc-js upgrade changes what that file relies on.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcFrame, unaryCall, type UnaryAnswer } from '../support/raw-grpc.js';
import { eventually, TestCluster, type MemberProcess } from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
let cluster: TestCluster;
let member: MemberProcess;

beforeAll(async () => {
  cluster = await TestCluster.start(1);
  member = cluster.members[0]!;
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

/** etcdserverpb.RangeRequest { key: "x" }, and the peer service's empty Identify request. */
const RANGE_REQUEST = Buffer.from([0x0a, 0x01, 0x78]);
const EMPTY_REQUEST = Buffer.alloc(0);
/** etcdserverpb.WatchRequest { create_request: { key: "x" } }. */
const WATCH_CREATE_REQUEST = Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x78]);

const closed = (session: http2.ClientHttp2Session): Promise<void> =>
  new Promise((resolve) => (session.destroyed ? resolve() : session.once('close', () => resolve())));

/** The member's sockets in CLOSE_WAIT (the client closed, the member never did), from /proc/net/tcp. */
function closeWaitSockets(port: number): number {
  const CLOSE_WAIT = '08';
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length > 3 && fields[1]!.endsWith(`:${portHex}`) && fields[3] === CLOSE_WAIT).length;
}

describe('a call queued just before session.close() in the same tick', () => {
  const sendThenClose = async (port: number, path: string, message: Buffer): Promise<UnaryAnswer> => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    // A first call, so the connection is up and the next HEADERS go out with the GOAWAY.
    expect((await unaryCall(session, path, message)).grpcStatus).toBe('0');
    const answer = unaryCall(session, path, message);
    session.close(); // Node flushes this GOAWAY ahead of the queued HEADERS
    const result = await answer;
    await closed(session);
    return result;
  };

  it('is answered by the client port (etcd answers grpc-status 0; Node alone refuses it), and the connection is closed on both sides', async () => {
    for (let round = 0; round < 5; round++) {
      expect(await sendThenClose(member.clientPort, '/etcdserverpb.KV/Range', RANGE_REQUEST)).toEqual({ grpcStatus: '0', rstCode: 0 });
    }
    await eventually('no member socket left in CLOSE_WAIT', async () => expect(closeWaitSockets(member.clientPort)).toBe(0), 5000);
  });

  it('is answered by the peer port', async () => {
    for (let round = 0; round < 5; round++) {
      expect(await sendThenClose(member.peerPort, '/raftkv.transport.Raft/Identify', EMPTY_REQUEST)).toEqual({ grpcStatus: '0', rstCode: 0 });
    }
    await eventually('no member socket left in CLOSE_WAIT', async () => expect(closeWaitSockets(member.peerPort)).toBe(0), 5000);
  });

  it('the sequence the etcd3 client sends (RST_STREAM of a watch, GOAWAY, a new call) is answered, and the connection closed', async () => {
    for (let round = 0; round < 5; round++) {
      const session = http2.connect(`http://127.0.0.1:${member.clientPort}`);
      session.on('error', () => {});
      const watch = session.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers' });
      watch.on('error', () => {});
      const created = new Promise((resolve) => watch.once('data', resolve));
      watch.write(grpcFrame(WATCH_CREATE_REQUEST));
      await created;
      watch.close(http2.constants.NGHTTP2_CANCEL);
      const answer = unaryCall(session, '/etcdserverpb.KV/Range', RANGE_REQUEST);
      session.close();
      expect(await answer).toEqual({ grpcStatus: '0', rstCode: 0 });
      await closed(session);
    }
    await eventually('no member socket left in CLOSE_WAIT', async () => expect(closeWaitSockets(member.clientPort)).toBe(0), 5000);
  });
});

/**
 * etcd3's own election test 'fixes #176' and its afterEach, `rounds` times, in a process of its own
 * as an application runs it. Args: host, rounds. Prints one JSON line: the calls that failed.
 * Before the fix about one round in two failed at delete() with 14 UNAVAILABLE. It must be its own
 * process: the test process's other channels to the member (the harness's) share the connection
 * with etcd3's and keep it open, and the failure needs the connection to close under a queued call.
 */
const ELECTION_ROUNDS_CLIENT = `
  const { Etcd3 } = require('etcd3');
  const { noop } = require('cockatiel');
  const [host, rounds] = process.argv.slice(1);
  // As etcd3's own tests run: no retries, so a refused call fails instead of being retried.
  const options = { hosts: [host], faultHandling: { global: noop, host: () => noop } };
  const parked = (campaign) => new Promise((resolve) => campaign.once('_isWaiting', resolve));
  (async () => {
    const failures = [];
    for (let round = 0; round < Number(rounds); round++) {
      const name = 'goaway-election/' + round;
      let step = 'campaign';
      const client = new Etcd3(options);
      try {
        const election = client.election(name, 5);
        const campaign = await election.campaign('candidate').wait();
        step = 'observe';
        const observer1 = await election.observe();
        const client2 = new Etcd3(options);
        const election2 = client2.election(name, 5);
        const observer2 = await election2.observe();
        const campaign2 = election2.campaign('candidate2');
        campaign2.on('error', () => {});
        await parked(campaign2);
        const client3 = new Etcd3(options);
        const election3 = client3.election(name, 5);
        const observer3 = await election3.observe();
        const campaign3 = election3.campaign('candidate3');
        campaign3.on('error', () => {});
        await parked(campaign3);
        const leaders = [observer1.leader(), observer2.leader(), observer3.leader()];
        if (leaders.some((leader) => leader !== 'candidate')) throw new Error('observers saw ' + leaders);
        step = 'resign 2';
        await campaign2.resign();
        // Closed with watches and campaign3's lease keep-alive still open.
        client2.close();
        client3.close();
        step = 'resign 1';
        await campaign.resign();
        step = 'delete';
        await client.delete().prefix(name);
        step = 'count';
        const left = await client.getAll().prefix(name).count();
        if (left !== 0) throw new Error(left + ' keys left');
      } catch (error) {
        failures.push('round ' + round + ', ' + step + ': ' + error.message);
      }
      client.close();
    }
    process.stdout.write(JSON.stringify(failures) + '\\n');
    process.exit(0);
  })();
`;

describe('the npm etcd3 client: election, observers, and clients closed with streams open', () => {
  const ROUNDS = 20;

  it(`campaign, observe, resign and close, ${ROUNDS} rounds in an application process, every call answered`, async () => {
    const child = spawn(process.execPath, ['-e', ELECTION_ROUNDS_CLIENT, `http://127.0.0.1:${member.clientPort}`, String(ROUNDS)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual([]);
  }, 60_000);
});
