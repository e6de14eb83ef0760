// bin/raftkv run directly is the member process itself, with the node flags its first line sets:
// V8's heap limits cannot be changed from inside a running process, so the launcher is where they
// live, and `npm start`, the Dockerfile and the benchmark all run it this way.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stablePort } from '../support/ports.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'raftkv');
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('bin/raftkv', () => {
  it('run directly, it is node itself (same pid) with an 8 MiB semi-space', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'raftkv-launch-'));
    const client = await stablePort();
    const peer = await stablePort(new Set([client]));
    const child = spawn(BIN, [
      '--name=launch',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=launch=http://127.0.0.1:${peer}`,
      '--log-level=warn',
    ], { stdio: 'ignore' });
    cleanups.push(() => {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    const pid = child.pid!;
    // Once `env` has exec'd node, the spawned pid's command line is node's, with the flag.
    const argv = (): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    await expect.poll(() => argv()[0]!.endsWith('env'), { timeout: 30_000 }).toBe(false);
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('node');
    expect(argv()).toContain('--max-semi-space-size=8');
  });
});
