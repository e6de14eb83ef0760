// Real raftkv processes on loopback for fault injection: every directed peer link runs through a
// LinkProxy the harness controls (the members dial each other through them: the peer-dial-map
// failpoint), and every member serves a failpoint control endpoint (slow disk, deliberate bugs).
// Members can be killed (-9), paused (SIGSTOP) and resumed, restarted on their data, and spare
// members can join through a membership change.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { credentials, type Client } from '@grpc/grpc-js';
import { services } from '../../src/api/protos.js';
import { call, stablePort } from '../integration/harness.js';
import { LinkProxy, type LinkMode } from './link-proxy.js';

/** The repository root, from test/fault (vitest) or dist/test/fault (`npm run chaos`). */
function repositoryRoot(): string {
  let directory = import.meta.dirname;
  while (!existsSync(join(directory, 'package.json'))) directory = dirname(directory);
  return directory;
}
const BIN = join(repositoryRoot(), 'bin', 'raftkv');

export interface FaultMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly failpointPort: number;
  readonly dataDir: string;
  process: ChildProcess | null;
  paused: boolean;
  /** Known once it answered Status. */
  id: number;
  /** Part of the cluster: a founder, or a spare that joined; false again once removed. */
  member: boolean;
  /** The --initial-cluster it was first started with (a restart must name itself again). */
  initialCluster: FaultMember[] | null;
  /** Exits the harness did not cause (a crash), with the code or signal. */
  unexpectedExits: string[];
}

export interface FaultClusterOptions {
  readonly size: number;
  /** Members provisioned (ports, proxies) but not started: for membership changes. */
  readonly spares?: number;
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  /** Failpoints every member starts with (besides the dial map). */
  readonly failpoints?: Record<string, string>;
  /** Keep member logs here (one file per member). */
  readonly logDir?: string;
}

export class FaultCluster {
  readonly members: FaultMember[] = [];
  readonly heartbeatMs: number;
  readonly electionMs: number;
  /** `${from}->${to}` → the proxy `from` dials `to` through. */
  private readonly links = new Map<string, LinkProxy>();
  private readonly clients = new Map<string, Client>();
  private readonly root = mkdtempSync(join(tmpdir(), 'raftkv-fault-'));

  private constructor(private readonly options: FaultClusterOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 50;
    this.electionMs = options.electionMs ?? 500;
  }

  static async start(options: FaultClusterOptions): Promise<FaultCluster> {
    const cluster = new FaultCluster(options);
    const total = options.size + (options.spares ?? 0);
    // Distinct ports: a port closed after probing can be handed out twice.
    const taken = new Set<number>();
    for (let i = 1; i <= total; i++) {
      cluster.members.push({
        name: `m${i}`, clientPort: await stablePort(taken), peerPort: await stablePort(taken), failpointPort: await stablePort(taken),
        dataDir: join(cluster.root, `m${i}`), process: null, paused: false, id: 0, member: i <= options.size, initialCluster: null, unexpectedExits: [],
      });
    }
    for (const from of cluster.members) {
      for (const to of cluster.members) {
        if (from !== to) cluster.links.set(`${from.name}->${to.name}`, await LinkProxy.start(to.peerPort, `${from.name}->${to.name}`));
      }
    }
    for (const member of cluster.founders) cluster.launch(member, 'new');
    await cluster.waitForLeader(20_000);
    return cluster;
  }

  get founders(): FaultMember[] {
    return this.members.slice(0, this.options.size);
  }

  get running(): FaultMember[] {
    return this.members.filter((member) => member.process !== null);
  }

  /** The cluster's members now, running or not. */
  get active(): FaultMember[] {
    return this.members.filter((member) => member.member);
  }

  /** A member removed from the cluster: no longer restarted or checked. */
  retire(member: FaultMember): void {
    member.member = false;
  }

  peerUrl(member: FaultMember): string {
    return `http://127.0.0.1:${member.peerPort}`;
  }

  private dialMap(from: FaultMember): string {
    return this.members.filter((to) => to !== from).map((to) => `${this.peerUrl(to)}=http://127.0.0.1:${this.link(from, to).port}`).join(',');
  }

  link(from: FaultMember, to: FaultMember): LinkProxy {
    const proxy = this.links.get(`${from.name}->${to.name}`);
    if (proxy === undefined) throw new Error(`no link ${from.name}->${to.name}`);
    return proxy;
  }

  /** Starts (or restarts on its data) a member; `state` as etcd's --initial-cluster-state. */
  launch(member: FaultMember, state: 'new' | 'existing', initialCluster: FaultMember[] = member.initialCluster ?? this.founders): void {
    member.initialCluster ??= initialCluster;
    const failpoints = { ...this.options.failpoints, 'peer-dial-map': this.dialMap(member) };
    const child = spawn(process.execPath, [
      BIN,
      `--name=${member.name}`,
      `--data-dir=${member.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--listen-peer-urls=${this.peerUrl(member)}`,
      `--initial-advertise-peer-urls=${this.peerUrl(member)}`,
      `--initial-cluster=${initialCluster.map((m) => `${m.name}=${this.peerUrl(m)}`).join(',')}`,
      `--initial-cluster-state=${state}`,
      '--initial-cluster-token=fault',
      `--heartbeat-interval=${this.heartbeatMs}`,
      `--election-timeout=${this.electionMs}`,
      '--log-level=warn',
    ], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RAFTKV_FAILPOINTS: JSON.stringify(failpoints), RAFTKV_FAILPOINTS_ADDR: `127.0.0.1:${member.failpointPort}` },
    });
    const keep = (chunk: Buffer): void => {
      if (this.options.logDir !== undefined) appendFileSync(join(this.options.logDir, `${member.name}.log`), chunk);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    member.member = true;
    child.on('exit', (code, signal) => {
      if (member.process !== child) return;
      member.process = null;
      // Still the current process: neither kill() nor a removal the harness expected ended it.
      if (member.member) member.unexpectedExits.push(`${member.name} exited by itself (${signal ?? `code ${code}`})`);
    });
    member.process = child;
    member.paused = false;
    this.spawned.add(child);
  }

  /** Every process this cluster started, so stop() leaves none behind whatever happened to it. */
  private readonly spawned = new Set<ChildProcess>();

  async kill(member: FaultMember): Promise<void> {
    const child = member.process;
    if (child === null) return;
    member.process = null;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    member.process = null;
    member.paused = false;
  }

  pause(member: FaultMember): void {
    if (member.process === null || member.paused) return;
    member.process.kill('SIGSTOP');
    member.paused = true;
  }

  resume(member: FaultMember): void {
    if (member.process === null || !member.paused) return;
    member.process.kill('SIGCONT');
    member.paused = false;
  }

  /** Sets every link between members of different groups to `mode` (both directions). */
  partition(groups: FaultMember[][], mode: LinkMode = 'stall'): void {
    for (const a of groups.flat()) {
      for (const b of groups.flat()) {
        if (a !== b && groups.findIndex((g) => g.includes(a)) !== groups.findIndex((g) => g.includes(b))) this.link(a, b).setMode(mode);
      }
    }
  }

  heal(): void {
    for (const proxy of this.links.values()) proxy.setMode('pass');
  }

  async failpoint(member: FaultMember, name: string, value: string | null): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      // A paused member never answers: give up after a while rather than hang the scenario.
      const req = request({ host: '127.0.0.1', port: member.failpointPort, path: `/${name}`, method: value === null ? 'DELETE' : 'PUT', timeout: 2000 }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`failpoint ${name}: HTTP ${response.statusCode}`))));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`failpoint ${name}: ${member.name} did not answer`)));
      req.end(value ?? '');
    });
  }

  client(member: FaultMember, service: keyof typeof services = 'KV'): Client {
    const key = `${member.name}/${service}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new services[service](`127.0.0.1:${member.clientPort}`, credentials.createInsecure());
      this.clients.set(key, client);
    }
    return client;
  }

  /** The member every running, unpaused member names as leader, once they agree. */
  async waitForLeader(timeoutMs = 15_000): Promise<FaultMember> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.agreedLeader();
      if (leader !== null) return leader;
      if (Date.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * The leader a majority of the cluster names (faults overlap: an isolated old leader may still
   * name itself, or nobody), or null if none within `timeoutMs`.
   */
  async majorityLeader(timeoutMs = 5000): Promise<FaultMember | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const votes = new Map<number, number>();
      for (const member of this.running.filter((m) => !m.paused)) {
        try {
          const status = await call(this.client(member, 'Maintenance'), 'Status', {}, 500);
          member.id = Number(status.header.member_id);
          const leader = Number(status.leader);
          if (leader !== 0) votes.set(leader, (votes.get(leader) ?? 0) + 1);
        } catch {
          // down or unreachable: no vote
        }
      }
      for (const [id, count] of votes) {
        const leader = this.members.find((member) => member.id === id && member.process !== null);
        // A paused leader is still named for a while, but cannot answer: it does not count.
        if (leader !== undefined && !leader.paused && count > this.active.length / 2) return leader;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return null;
  }

  private async agreedLeader(): Promise<FaultMember | null> {
    const named = new Set<number>();
    for (const member of this.running) {
      if (member.paused) continue;
      try {
        const status = await call(this.client(member, 'Maintenance'), 'Status', {}, 1000);
        member.id = Number(status.header.member_id);
        named.add(Number(status.leader));
      } catch {
        return null;
      }
    }
    const [id] = [...named];
    if (named.size !== 1 || id === 0) return null;
    return this.members.find((member) => member.id === id && member.process !== null) ?? null;
  }

  async stop(): Promise<void> {
    for (const member of this.members) this.resume(member);
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    await Promise.all(this.members.map((member) => this.kill(member)));
    for (const child of this.spawned) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await Promise.all([...this.links.values()].map((proxy) => proxy.close()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
