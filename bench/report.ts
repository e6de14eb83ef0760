// The comparison as a terminal table and as the Markdown results file.

import { DEFAULT_CHANNEL_COUNT } from './client.js';
import type { Cell, ComparisonRow } from './comparison.js';
import { formatNumber, formatRatio } from './format.js';
import { etcdSystem, raftkvSystem, TUNING_FLAGS } from './local-cluster.js';
import { scaleWorkload } from './workloads/scale.js';
import type { MachineDescription } from './machine.js';
import type { BenchOptions } from './workload.js';

const HEADERS = ['workload', 'metric', 'etcd', 'raftkv', 'ratio'];

export function ratioExplanation(repeats: number): string {
  const median = repeats === 1 ? 'one repeat' : `median of ${repeats} repeats (min–max)`;
  return `${median}; ratio is raftkv/etcd for throughput and etcd/raftkv for latency, time and memory, so > 1 means raftkv is better`;
}

function formatCell(cell: Cell): string {
  if (cell.spread === null) return 'error';
  const { median, min, max } = cell.spread;
  const spread = min === max ? '' : ` (${formatNumber(min)}–${formatNumber(max)})`;
  const failed = cell.errors.length === 0 ? '' : ` [${cell.errors.length} of ${cell.repeats} failed]`;
  return `${formatNumber(median)}${spread}${failed}`;
}

function rowCells(row: ComparisonRow): string[] {
  const ratio = row.ratio === null ? '–' : formatRatio(row.ratio);
  return [row.workload, `${row.metric.name} (${row.metric.unit})`, formatCell(row.etcd), formatCell(row.raftkv), ratio];
}

/** Every distinct error, with the system and metric it came from. */
export function errorLines(rows: readonly ComparisonRow[]): string[] {
  const lines = new Set<string>();
  for (const row of rows) {
    for (const [system, cell] of [['etcd', row.etcd], ['raftkv', row.raftkv]] as const) {
      for (const error of cell.errors) lines.add(`${system} ${row.workload}: ${error}`);
    }
  }
  return [...lines];
}

export function renderTextTable(rows: readonly ComparisonRow[]): string {
  const body = rows.map(rowCells);
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...body.map((cells) => cells[column].length)));
  // Text columns left-aligned, numbers right-aligned.
  const pad = (cell: string, column: number): string => (column >= 2 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]));
  const line = (cells: string[]): string => cells.map(pad).join('  ').trimEnd();
  return [line(HEADERS), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}

function markdownTable(rows: readonly ComparisonRow[]): string {
  const escape = (text: string): string => text.replaceAll('|', '\\|');
  return [
    `| ${HEADERS.join(' | ')} |`,
    '| --- | --- | ---: | ---: | ---: |',
    ...rows.map((row) => `| ${rowCells(row).map(escape).join(' | ')} |`),
  ].join('\n');
}

export interface MarkdownReport {
  readonly date: string;
  readonly command: string;
  readonly repeats: number;
  readonly quick: boolean;
  readonly options: BenchOptions;
  readonly machine: MachineDescription;
  readonly durationS: number;
  readonly chartFile: string;
  /** Other work that started during the run skews it as much as work that was there before. */
  readonly loadAverageAtEnd: string;
}

function howMeasured(report: MarkdownReport): string[] {
  const { options } = report;
  const trials = `${options.failoverTrials} failover trials, ${options.transferTrials} leadership transfers`;
  return [
    `command: \`${report.command}\` (${Math.round(report.durationS)} s in all)`,
    `${report.quick ? 'quick mode: ' : ''}${options.primeMs / 1000} s of unmeasured mixed load (put, get, CAS at 16 in flight) on each cluster before its first measurement (bench/prime.ts); `
      + `${options.durationMs / 1000} s per throughput measurement after ${options.warmupMs / 1000} s of warmup; `
      + `${trials}, ${options.memoryKeyCount.toLocaleString('en-US')} keys for memory; `
      + `scale: ${options.scalePutCount.toLocaleString('en-US')} puts of ${options.scaleValueBytes / 1024} KiB random values, 32 in flight, each catch-up bounded at ${options.scaleCatchUpTimeoutMs / 1000} s, both systems with \`${scaleWorkload.memberFlags?.join(' ')}\``
      + (options.scrapeMetricsMs > 0 ? `; every member of a shared cluster scraped (GET /metrics on its client port) every ${options.scrapeMetricsMs / 1000} s while it served` : ''),
    `both systems: three members on loopback, started with the same etcd-style command line (\`${TUNING_FLAGS.join(' ')}\`, `
      + `logging at warn: \`${raftkvSystem().logFlags.join(' ')}\` for raftkv, \`${etcdSystem('etcd').logFlags.join(' ')}\` for etcd; `
      + 'everything else each system\'s default), a fresh cluster of each per repeat (and for memory), '
      + 'each workload run on one system and right after on the other while the other\'s cluster idles, '
      + 'data dirs under one temp dir; the order of the systems alternates between repeats',
    `the client: one Node.js process with our gRPC client (src/api/protos.ts), a pool of ${DEFAULT_CHANNEL_COUNT} channels `
      + 'over the three endpoints; it shares the machine\'s cores with the members',
  ];
}

export function renderMarkdown(rows: readonly ComparisonRow[], report: MarkdownReport): string {
  const { machine } = report;
  const errors = errorLines(rows);
  return `# raftkv vs etcd ${machine.etcdVersion}, ${report.date}

${ratioExplanation(report.repeats)}.

${markdownTable(rows)}

![ratio per metric, raftkv vs etcd](${report.chartFile})
${errors.length === 0 ? '' : `\n## Errors\n\n${errors.map((error) => `- ${error.replaceAll('\n', ' ')}`).join('\n')}\n`}
## How it was measured

${howMeasured(report).map((line) => `- ${line}`).join('\n')}

## Machine

- nproc: ${machine.nproc}
- CPU: ${machine.cpuModel}
- memory: ${machine.memoryGiB.toFixed(1)} GiB
- kernel: ${machine.kernel}
- data dir filesystem: ${machine.dataFilesystem}
- load average (1, 5, 15 min): ${machine.loadAverage} at the start, ${report.loadAverageAtEnd} at the end
- Node.js: ${machine.nodeVersion}
- etcd: ${machine.etcdVersion}
- raftkv: ${machine.raftkvCommit}
`;
}
