// Durability against a process crash: a real child process saves with sync=true and is SIGKILLed
// mid-stream; every index it acknowledged must be there after reopening, in a contiguous log.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { Wal } from '../../src/storage/index.js';
import { IDENTITY, tempDataDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const WRITER = join(import.meta.dirname, 'fixtures', 'crash-writer.mjs');
const ROUNDS = 3;

/** The compiled files the child runs, and their sources. */
function compiledPairs(): Array<{ source: string; compiled: string }> {
  return ['src/storage', 'src/raft', 'src/raftpb'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => ({ source: join(ROOT, dir, file), compiled: join(ROOT, 'dist', dir, file.replace(/\.ts$/, '.js')) })),
  );
}

/** `npm test` builds dist/ first; a bare `vitest run` may find it missing or stale, so build just what the child needs. */
function ensureCompiled(): void {
  const stale = compiledPairs().some(({ source, compiled }) => !existsSync(compiled) || statSync(compiled).mtimeMs < statSync(source).mtimeMs);
  if (!stale) return;
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--outDir', 'dist', '--rootDir', '.', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--lib', 'ES2022', '--types', 'node', '--strict', '--skipLibCheck', '--sourceMap'];
  execFileSync(process.execPath, [tsc, ...flags, 'src/storage/index.ts'], { cwd: ROOT, stdio: 'pipe' });
}

function payload(index: number): string {
  return `entry ${index} `.repeat(8);
}

/** Runs the writer until it has acknowledged `acks` saves, then SIGKILLs it. Returns what it printed. */
async function runAndKill(dataDir: string, acks: number): Promise<{ openedAt: number; acknowledged: number[] }> {
  const child = spawn(process.execPath, [WRITER, dataDir, JSON.stringify(IDENTITY)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let openedAt = -1;
  const acknowledged: number[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('opened ')) openedAt = Number(line.slice('opened '.length));
    else acknowledged.push(Number(line));
    if (acknowledged.length === acks) child.kill('SIGKILL');
  }
  const signal = await exited;
  expect(signal, `writer exited on its own: ${stderr}`).toBe('SIGKILL');
  return { openedAt, acknowledged };
}

describe('Wal crash durability', () => {
  beforeAll(ensureCompiled, 60_000);

  it('loses no acknowledged index when the writer is SIGKILLed mid-stream, round after round', async () => {
    const dataDir = tempDataDir();
    let highestAcknowledged = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { openedAt, acknowledged } = await runAndKill(dataDir, 15 + round * 7);
      // Each restart finds at least everything acknowledged before the previous kill.
      expect(openedAt).toBeGreaterThanOrEqual(highestAcknowledged);
      highestAcknowledged = acknowledged[acknowledged.length - 1];
    }

    const wal = await Wal.open(dataDir, IDENTITY);
    const log = wal.storage;
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBeGreaterThanOrEqual(highestAcknowledged);
    const all = log.entries(1, log.lastIndex() + 1, Infinity);
    expect(all.map((e) => e.index)).toEqual(Array.from({ length: log.lastIndex() }, (_, i) => i + 1));
    for (const e of all) expect(new TextDecoder().decode(e.data)).toBe(payload(e.index));
    expect(log.initialState().hardState.commit).toBe(log.lastIndex());
    await wal.close();
  });
});
