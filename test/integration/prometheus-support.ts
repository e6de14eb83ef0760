// A real Prometheus (Debian's prometheus package) for tests: its own config, data dir and loopback
// port, stopped by the pid we started; queried over its HTTP API.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from './harness.js';

export interface PrometheusResult {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export class TestPrometheus {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly root: string,
    readonly url: string,
  ) {
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Scrapes `targets` (host:port, path /metrics) as job `job` every `scrapeIntervalSeconds`. */
  static async start(binary: string, job: string, targets: readonly string[], scrapeIntervalSeconds: number): Promise<TestPrometheus> {
    const root = mkdtempSync(join(tmpdir(), 'raftkv-prometheus-'));
    const config = [
      'global:',
      `  scrape_interval: ${scrapeIntervalSeconds}s`,
      `  scrape_timeout: ${scrapeIntervalSeconds}s`,
      `  evaluation_interval: ${scrapeIntervalSeconds}s`,
      'scrape_configs:',
      `  - job_name: ${job}`,
      '    static_configs:',
      `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`,
      '',
    ].join('\n');
    writeFileSync(join(root, 'prometheus.yml'), config);
    const port = await freePort();
    const child = spawn(binary, [
      `--config.file=${join(root, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(root, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const prometheus = new TestPrometheus(child, root, `http://127.0.0.1:${port}`);
    try {
      await eventually('Prometheus to be ready', async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${prometheus.output}`);
        const response = await fetch(`${prometheus.url}/-/ready`);
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      }, 60_000);
    } catch (error) {
      await prometheus.stop();
      throw error;
    }
    return prometheus;
  }

  /** An instant query; throws on an error answer. NaN values come back as NaN. */
  async query(expression: string): Promise<PrometheusResult[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`query ${expression}: ${body.error ?? response.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`query ${expression}: a ${body.data.resultType}, not a vector`);
    return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
