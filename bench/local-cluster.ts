// A three-member cluster of real processes on loopback, etcd or raftkv, started from the same
// etcd-style command line; members can be killed with SIGKILL and restarted on their data dirs.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchClient, type StatusResponse } from './client.js';
import { RAFTKV_BIN } from './paths.js';
import { removeDirectory, trackChild } from './processes.js';
import { pollUntil, sleep, withTimeout } from './time.js';
// Shared with the test harnesses: member ports that stay free between a kill and a restart.
import { stablePort } from '../test/support/ports.js';

export type SystemName = 'etcd' | 'raftkv';

export interface System {
  readonly name: SystemName;
  readonly command: string;
  /** Arguments before the flags (raftkv: the bin script that node runs). */
  readonly commandArgs: readonly string[];
  /** Warnings and errors only. */
  readonly logFlags: readonly string[];
}

export function raftkvSystem(): System {
  // bin/raftkv run directly, as a user runs it: its first line (`env -S node <flags>`) execs node,
  // so the spawned child is the server process (its pid is the one whose RSS counts), with the
  // node flags the product ships.
  return { name: 'raftkv', command: RAFTKV_BIN, commandArgs: [], logFlags: ['--log-level=warn'] };
}

export function etcdSystem(etcdPath: string): System {
  // etcd 3.4 accepts --log-level with its default logger (capnslog), but its raft package still
  // logs at INFO there; with zap the level holds for everything.
  return { name: 'etcd', command: etcdPath, commandArgs: [], logFlags: ['--logger=zap', '--log-level=warn'] };
}

/** The same for both systems; everything else is each system's default. */
export const TUNING_FLAGS = ['--heartbeat-interval=100', '--election-timeout=1000'];

export interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | null;
  /** Learned from the member's own Status answers (exact, as a decimal string). */
  id: string | null;
  /** How its last process ended, e.g. "signal SIGKILL" or "code 1". */
  lastExit: string | null;
}


const KILL_WAIT_MS = 10_000;

/** How a member joins a cluster that already runs (etcd's `--initial-cluster-state existing`). */
export interface JoinExisting {
  /** Every member of the cluster once this one is in, itself included. */
  readonly initialCluster: readonly Member[];
}

export class LocalCluster {
  readonly system: System;
  readonly members: readonly Member[];
  readonly directory: string;
  /** Members added after the start (learners, replacements); stopped and removed with the rest. */
  private readonly joiners: Member[] = [];
  private clientPool: BenchClient | null = null;
  private directClient: BenchClient | null = null;

  private constructor(
    system: System,
    directory: string,
    members: Member[],
    /** Flags every member starts with after TUNING_FLAGS (a workload's own, as the scale workload's quota). */
    private readonly memberFlags: readonly string[],
  ) {
    this.system = system;
    this.directory = directory;
    this.members = members;
  }

  /** Ports and data dirs for `size` members under `directory`; nothing is started yet. */
  static async create(system: System, directory: string, memberFlags: readonly string[] = [], size = 3): Promise<LocalCluster> {
    mkdirSync(directory, { recursive: true });
    const members: Member[] = [];
    // Distinct ports: a port closed after probing can be handed out twice.
    const taken = new Set<number>();
    for (let i = 1; i <= size; i++) members.push(await LocalCluster.newMember(directory, `${system.name}-${i}`, taken));
    return new LocalCluster(system, directory, members, memberFlags);
  }

  private static async newMember(directory: string, name: string, taken: Set<number>): Promise<Member> {
    return {
      name,
      clientPort: await stablePort(taken),
      peerPort: await stablePort(taken),
      dataDir: join(directory, `${name}.data`),
      logFile: join(directory, `${name}.log`),
      process: null,
      id: null,
      lastExit: null,
    };
  }

  /** Ports and a data dir for one more member (not started; spawn it with `join` after Cluster.MemberAdd). */
  async createJoiner(name: string): Promise<Member> {
    const taken = new Set([...this.members, ...this.joiners].flatMap((member) => [member.clientPort, member.peerPort]));
    const joiner = await LocalCluster.newMember(this.directory, name, taken);
    this.joiners.push(joiner);
    return joiner;
  }

  peerUrlOf(member: Member): string {
    return `http://127.0.0.1:${member.peerPort}`;
  }

  /** Disk use of the member's data dir (`du -sk`), in bytes. */
  diskBytes(member: Member): number {
    const du = spawnSync('du', ['-sk', member.dataDir], { encoding: 'utf8' });
    const kib = Number(/^(\d+)/.exec(du.stdout ?? '')?.[1]);
    if (du.status !== 0 || !Number.isFinite(kib)) throw new Error(`du -sk ${member.dataDir} failed: ${du.stderr}`);
    return kib * 1024;
  }

  endpointOf(member: Member): string {
    return `127.0.0.1:${member.clientPort}`;
  }

  get endpoints(): string[] {
    return this.members.map((member) => this.endpointOf(member));
  }

  get liveMembers(): Member[] {
    return this.members.filter((member) => member.process !== null);
  }

  /** The pool client over all three endpoints, for the workloads. */
  get client(): BenchClient {
    this.clientPool ??= new BenchClient(this.endpoints);
    return this.clientPool;
  }

  /** Status of one member through a channel of its own. */
  status(member: Member, timeoutMs = 1000): Promise<StatusResponse> {
    this.directClient ??= new BenchClient(this.endpoints, 1);
    return this.directClient.to(this.endpointOf(member)).status(timeoutMs);
  }

  spawnAll(): void {
    for (const member of this.members) this.spawn(member);
  }

  /** Starts the member's process: a founding member by default, or one joining the running cluster. */
  spawn(member: Member, join?: JoinExisting): void {
    if (member.process !== null) throw new Error(`${member.name} is already running`);
    const initialCluster = (join?.initialCluster ?? this.members).map((m) => `${m.name}=${this.peerUrlOf(m)}`).join(',');
    const flags = [
      `--name=${member.name}`,
      `--data-dir=${member.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${join === undefined ? 'new' : 'existing'}`,
      `--initial-cluster-token=bench-${this.system.name}`,
      ...TUNING_FLAGS,
      ...this.memberFlags,
      ...this.system.logFlags,
    ];
    // Output goes straight to a file: nothing of the server's logging passes through this process.
    const log = openSync(member.logFile, 'a');
    const child = spawn(this.system.command, [...this.system.commandArgs, ...flags], { stdio: ['ignore', log, log] });
    closeSync(log);
    trackChild(child);
    child.on('error', () => {
      // A failed spawn shows up as a member that never answers; its log and the exit say why.
    });
    child.once('exit', (code, signal) => {
      member.lastExit = signal === null ? `code ${code}` : `signal ${signal}`;
      if (member.process === child) member.process = null;
    });
    member.process = child;
  }

  /** Spawns every member and waits until they agree on a leader. */
  async start(timeoutMs = 30_000): Promise<Member> {
    this.spawnAll();
    return this.waitForLeader(timeoutMs);
  }

  async kill(member: Member, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = KILL_WAIT_MS): Promise<void> {
    const child = member.process;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await withTimeout(exited, timeoutMs, `${member.name} exit after ${signal}`);
    }
    member.process = null;
  }

  /** The member that every running member names as leader, once they all answer and agree. */
  async waitForLeader(timeoutMs = 30_000, intervalMs = 50): Promise<Member> {
    return pollUntil(`${this.system.name}: a leader that every running member agrees on`, async () => {
      const live = this.liveMembers;
      if (live.length === 0) throw new Error('no member is running');
      const statuses = await Promise.all(live.map((member) => this.status(member)));
      statuses.forEach((status, i) => (live[i].id = status.memberId));
      const leaderId = statuses[0].leaderId;
      if (leaderId === '0' || statuses.some((status) => status.leaderId !== leaderId)) return undefined;
      return live.find((member) => member.id === leaderId);
    }, timeoutMs, intervalMs);
  }

  /** VmRSS of the member's own process, from /proc. */
  rssBytes(member: Member): number {
    const pid = member.process?.pid;
    if (pid === undefined) throw new Error(`${member.name} is not running`);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  }

  logTail(member: Member, bytes = 1500): string {
    try {
      const text = readFileSync(member.logFile, 'utf8');
      return text.slice(-bytes);
    } catch {
      return '';
    }
  }

  /**
   * SIGKILL, then the data is removed: nothing of it is kept, and a graceful stop of all three at
   * once makes etcd's leader wait for a transfer to members that are stopping too.
   */
  async stop(): Promise<void> {
    this.clientPool?.close();
    this.directClient?.close();
    this.clientPool = null;
    this.directClient = null;
    await Promise.all([...this.members, ...this.joiners].map((member) => this.kill(member, 'SIGKILL')));
    // Give the kernel a moment to release the ports before the next cluster asks for free ones.
    await sleep(100);
    removeDirectory(this.directory);
  }
}
