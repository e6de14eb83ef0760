// Throwaway servers for the differential run: one raftkv member from bin/raftkv and one etcd 3.4
// (from PATH), each on fresh loopback ports with a fresh data dir, stopped by the pid we started.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawGrpcConnection } from './send.js';
import { GRPC_HEADERS } from './request.js';
import { grpcFrame } from './wire.js';

export interface StartedServer {
  readonly name: string;
  readonly endpoint: string;
  readonly child: ChildProcess;
  output: string;
  stop(): Promise<void>;
}

function repositoryRoot(): string {
  const here = import.meta.dirname;
  return /[\\/]dist[\\/]test[\\/]/.test(here) ? join(here, '..', '..', '..') : join(here, '..', '..');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function waitServing(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connection = new RawGrpcConnection(endpoint);
    const outcome = await connection.send({ path: '/etcdserverpb.Maintenance/Status', httpMethod: 'POST', headers: { ...GRPC_HEADERS }, chunks: [grpcFrame(Buffer.alloc(0))] }, false, { unaryTimeoutMs: 1000, streamWindowMs: 0 });
    connection.close();
    if (outcome.status === 0) {
      // Status answers before the first election ends; a leader shows as field 4.
      const put = new RawGrpcConnection(endpoint);
      const probe = await put.send({ path: '/etcdserverpb.KV/Range', httpMethod: 'POST', headers: { ...GRPC_HEADERS }, chunks: [grpcFrame(Buffer.from([0x0a, 0x01, 0x78]))] }, false, { unaryTimeoutMs: 2000, streamWindowMs: 0 });
      put.close();
      if (probe.status === 0) return;
    }
    if (Date.now() > deadline) throw new Error(`${endpoint} not serving within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function start(name: string, command: string, args: (clientPort: number, peerPort: number, dataDir: string) => string[]): Promise<StartedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `badinput-${name}-`));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const child = spawn(command, args(clientPort, peerPort, dataDir), { stdio: ['ignore', 'pipe', 'pipe'] });
  const server: StartedServer = {
    name, endpoint: `127.0.0.1:${clientPort}`, child, output: '',
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const keep = (chunk: Buffer): void => {
    server.output = (server.output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  await waitServing(server.endpoint, 30_000);
  return server;
}

export function startRaftkv(): Promise<StartedServer> {
  return start('raftkv', process.execPath, (client, peer, dataDir) => [
    join(repositoryRoot(), 'bin', 'raftkv'), '--name=r1', `--data-dir=${dataDir}`,
    `--listen-client-urls=http://127.0.0.1:${client}`, `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=r1=http://127.0.0.1:${peer}`, '--log-level=warn',
  ]);
}

export function startEtcd(): Promise<StartedServer> {
  return start('etcd', 'etcd', (client, peer, dataDir) => [
    '--name=e1', `--data-dir=${dataDir}`,
    `--listen-client-urls=http://127.0.0.1:${client}`, `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=e1=http://127.0.0.1:${peer}`, '--log-level=warn', '--logger=zap',
  ]);
}
