// Real raftkv processes on loopback for integration tests: spawn, kill -9, restart with the same
// data dir, and talk to them with a gRPC client built from our etcd protos.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { credentials, type ChannelCredentials, type Client } from '@grpc/grpc-js';
import { services } from '../../src/api/protos.js';
import type { TestCertificate } from '../support/certificates.js';
import { stablePort } from '../support/ports.js';

export { stablePort };

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'raftkv');


/**
 * A free port for a member's listener: below the ephemeral range (stablePort), since a port
 * from listen(0) can be taken by any outbound connection between this check and the member's bind
 * (seen once: a member died with EADDRINUSE on its peer port in a full run).
 */
export async function freePort(): Promise<number> {
  return stablePort();
}

export interface MemberProcess {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** Where the others reach this member's peer port, when a test proxy sits in front of it. */
  advertisedPeerPort?: number;
  readonly dataDir: string;
  /** Flags for this member alone, after the cluster's (e.g. its own --listen-metrics-urls). */
  flags?: readonly string[];
  process: ChildProcess | null;
  output: string;
}

type Unary = (request: object, callback: (error: Error | null, response: any) => void) => void;

/** Calls a unary method with a deadline, as a promise. */
export function call<T = any>(client: Client, method: string, request: object, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Unary>)[method].bind(client) as unknown as (
      request: object,
      options: object,
      callback: (error: Error | null, response: T) => void,
    ) => void;
    fn(request, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export class TestCluster {
  readonly members: MemberProcess[];
  private readonly root: string;
  private readonly clients = new Map<string, Client>();
  private readonly extraFlags: string[];
  private readonly tls: TestCertificate | null;

  private constructor(root: string, members: MemberProcess[], extraFlags: string[], tls: TestCertificate | null) {
    this.root = root;
    this.members = members;
    this.extraFlags = extraFlags;
    this.tls = tls;
  }

  private get scheme(): string {
    return this.tls === null ? 'http' : 'https';
  }

  /** Starts `size` members; with `tls`, clients and peers must present certificates from its CA. */
  static async start(
    size: number,
    extraFlags: string[] = [],
    tls: TestCertificate | null = null,
    beforeLaunch: (members: MemberProcess[]) => Promise<void> = async () => {},
  ): Promise<TestCluster> {
    const root = mkdtempSync(join(tmpdir(), 'raftkv-it-'));
    const members: MemberProcess[] = [];
    for (let i = 1; i <= size; i++) {
      members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(root, `m${i}`), process: null, output: '' });
    }
    const cluster = new TestCluster(root, members, extraFlags, tls);
    await beforeLaunch(members);
    for (const member of members) cluster.launch(member);
    await cluster.waitForLeader();
    return cluster;
  }

  private initialCluster(): string {
    return this.members.map((m) => `${m.name}=${this.scheme}://127.0.0.1:${m.advertisedPeerPort ?? m.peerPort}`).join(',');
  }

  /** `env`: added to this process's environment (e.g. RAFTKV_FAILPOINTS_ADDR). */
  launch(member: MemberProcess, overrideFlags: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(process.execPath, [
      BIN,
      `--name=${member.name}`,
      `--data-dir=${member.dataDir}`,
      `--listen-client-urls=${this.scheme}://127.0.0.1:${member.clientPort}`,
      `--advertise-client-urls=${this.scheme}://127.0.0.1:${member.clientPort}`,
      `--listen-peer-urls=${this.scheme}://127.0.0.1:${member.peerPort}`,
      `--initial-advertise-peer-urls=${this.scheme}://127.0.0.1:${member.advertisedPeerPort ?? member.peerPort}`,
      ...(this.tls === null
        ? []
        : [
            `--cert-file=${this.tls.cert}`, `--key-file=${this.tls.key}`, `--trusted-ca-file=${this.tls.ca}`, '--client-cert-auth',
            `--peer-cert-file=${this.tls.cert}`, `--peer-key-file=${this.tls.key}`, `--peer-trusted-ca-file=${this.tls.ca}`, '--peer-client-cert-auth',
          ]),
      `--initial-cluster=${this.initialCluster()}`,
      '--initial-cluster-token=it',
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--log-level=warn',
      ...this.extraFlags,
      ...(member.flags ?? []),
      ...overrideFlags,
    ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    member.output = '';
    // RAFTKV_TEST_LOG_DIR keeps every member's log for reading a failure afterwards.
    const logDir = process.env.RAFTKV_TEST_LOG_DIR;
    const keep = (chunk: Buffer): void => {
      member.output += chunk.toString();
      if (logDir !== undefined) appendFileSync(join(logDir, `${basename(this.root)}-${member.name}.log`), chunk);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    member.process = child;
    return child;
  }

  client(member: MemberProcess, service: keyof typeof services = 'KV'): Client {
    const key = `${member.name}/${service}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new services[service](`127.0.0.1:${member.clientPort}`, this.clientCredentials());
      this.clients.set(key, client);
    }
    return client;
  }

  /** A member to be added at runtime: ports and a data dir, not started (see launch). */
  async newMember(name: string): Promise<MemberProcess> {
    const member: MemberProcess = { name, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(this.root, name), process: null, output: '' };
    this.members.push(member);
    return member;
  }

  peerUrl(member: MemberProcess): string {
    return `${this.scheme}://127.0.0.1:${member.peerPort}`;
  }

  /** With TLS: the cluster's own client certificate, or `certificate` (e.g. one from another CA). */
  clientCredentials(certificate: TestCertificate | 'none' | null = this.tls): ChannelCredentials {
    if (this.tls === null) return credentials.createInsecure();
    const ca = readFileSync(this.tls.ca);
    if (certificate === 'none' || certificate === null) return credentials.createSsl(ca);
    return credentials.createSsl(ca, readFileSync(certificate.key), readFileSync(certificate.cert));
  }

  async kill(member: MemberProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = member.process;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    // 'close', not 'exit': the exit can come before the last of the output has been read from the
    // pipes, and tests read a killed member's log.
    await new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.kill(signal);
    });
    member.process = null;
  }

  /** Each member's id, learned from its own Status answers. */
  private readonly memberIds = new Map<string, number>();

  /** The member that every live member names as leader, once they agree. */
  async waitForLeader(timeoutMs = 15_000): Promise<MemberProcess> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leaders = new Set<number>();
      let answered = 0;
      for (const member of this.members) {
        if (member.process === null) continue;
        try {
          const status = await call(this.client(member, 'Maintenance'), 'Status', {}, 1000);
          this.memberIds.set(member.name, Number(status.header.member_id));
          leaders.add(Number(status.leader));
          answered++;
        } catch {
          leaders.add(-1); // not up yet
        }
      }
      const [leaderId] = [...leaders];
      const leader = this.members.find((m) => m.process !== null && this.memberIds.get(m.name) === leaderId);
      if (answered > 0 && leaders.size === 1 && leader !== undefined) return leader;
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms\n${this.members.map((m) => `${m.name}: ${m.output.slice(-2000)}`).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    await Promise.all(this.members.map((member) => this.kill(member, 'SIGTERM')));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Retries `attempt` every 200 ms until it resolves; throws with its last error after `timeoutMs`. */
export async function eventually<T>(what: string, attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms: ${String(lastError)}`);
}
