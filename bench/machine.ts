// What the results were measured on, for the report.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { etcdVersion } from './etcd-binary.js';
import { REPO_ROOT } from './paths.js';

export interface MachineDescription {
  readonly nproc: string;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly nodeVersion: string;
  readonly etcdVersion: string;
  readonly raftkvCommit: string;
  /** The filesystem under the members' data dirs: fsync cost decides write latency. */
  readonly dataFilesystem: string;
  /** At the start: other work on the machine skews every number. */
  readonly loadAverage: string;
}

function run(command: string, args: string[], cwd?: string): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 10_000, cwd, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function describeMachine(etcdPath: string, dataDirectory: string): MachineDescription {
  const commit = run('git', ['rev-parse', '--short', 'HEAD'], REPO_ROOT);
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no'], REPO_ROOT);
  const filesystem = run('df', ['-T', dataDirectory])?.split('\n')[1]?.split(/\s+/)[1];
  return {
    nproc: run('nproc', []) ?? String(cpus().length),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: totalmem() / 1024 ** 3,
    kernel: release(),
    nodeVersion: process.version,
    etcdVersion: etcdVersion(etcdPath),
    raftkvCommit: commit === null ? 'unknown' : `${commit}${dirty ? ' (with uncommitted changes)' : ''}`,
    dataFilesystem: filesystem ?? 'unknown',
    loadAverage: currentLoadAverage(),
  };
}

export function currentLoadAverage(): string {
  return loadavg().map((load) => load.toFixed(2)).join(' ');
}
