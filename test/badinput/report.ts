// The differential report: which cases got a different (status, message) from raftkv and etcd,
// grouped by the pair of answers, with counts per category.

import { CATEGORIES, type BadInputCase } from './generate.js';
import type { Outcome } from './send.js';

export interface PairedResult {
  readonly testCase: BadInputCase;
  readonly subject: Outcome;
  readonly reference: Outcome;
}

const GROUP_EXAMPLES_MAX = 3;
const GROUPS_MAX = 80;
const TEXT_MAX = 160;

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  return flat.length > TEXT_MAX ? `${flat.slice(0, TEXT_MAX)}…` : flat;
}

/** What is compared: the gRPC status and message; for a stream, also what it answered. */
export function outcomeKey(outcome: Outcome, streaming: boolean): string {
  // On success grpc-js says "OK" and grpc-go nothing; no client reads it.
  const status = outcome.status === null ? `no status (${outcome.transport ?? 'none'})` : outcome.status === 0 ? '0 (OK)' : `${outcome.status} ${JSON.stringify(outcome.message)}`;
  return streaming ? `${status} · responses: [${outcome.responses.join(' / ')}]` : status;
}

export function differs(result: PairedResult): boolean {
  const streaming = result.testCase.method.streaming;
  return outcomeKey(result.subject, streaming) !== outcomeKey(result.reference, streaming);
}

export interface ReportContext {
  readonly seed: number;
  readonly count: number;
  readonly command: string;
  readonly subjectName: string;
  readonly referenceName: string;
  readonly notes: string[];
}

export function markdownReport(results: readonly PairedResult[], context: ReportContext): string {
  const lines: string[] = [];
  lines.push(`# Bad-input differential: ${context.subjectName} vs ${context.referenceName}`, '');
  lines.push(`Seed ${context.seed}, ${context.count} cases (${results.length} sent). Replay: \`${context.command}\``, '');
  for (const note of context.notes) lines.push(`- ${note}`);
  if (context.notes.length > 0) lines.push('');
  lines.push('Compared: gRPC status code and message (the message only on errors); for Watch and LeaseKeepAlive also the responses received in the read window (header, default-valued fields and event payloads left out; "no status" = the stream was still open when we cancelled it).', '');
  lines.push('## Per category', '', '| category | cases | same | differ |', '|---|---:|---:|---:|');
  let totalDiffer = 0;
  for (const category of CATEGORIES) {
    const inCategory = results.filter((r) => r.testCase.category === category);
    if (inCategory.length === 0) continue;
    const differing = inCategory.filter(differs).length;
    totalDiffer += differing;
    lines.push(`| ${category} | ${inCategory.length} | ${inCategory.length - differing} | ${differing} |`);
  }
  lines.push(`| **all** | ${results.length} | ${results.length - totalDiffer} | ${totalDiffer} |`, '');
  const groups = new Map<string, PairedResult[]>();
  for (const result of results.filter(differs)) {
    const streaming = result.testCase.method.streaming;
    const key = `${outcomeKey(result.subject, streaming)}\u0000${outcomeKey(result.reference, streaming)}`;
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  lines.push(`## Differences, grouped by the pair of answers (${sorted.length} groups)`, '');
  lines.push(`| cases | categories | methods | ${context.subjectName} | ${context.referenceName} | examples (case: what) |`, '|---:|---|---|---|---|---|');
  for (const [key, members] of sorted.slice(0, GROUPS_MAX)) {
    const [subject, reference] = key.split('\u0000');
    const categories = [...new Set(members.map((m) => m.testCase.category))].join(', ');
    const methods = [...new Set(members.map((m) => m.testCase.method.name))].join(', ');
    const examples = members.slice(0, GROUP_EXAMPLES_MAX).map((m) => `${m.testCase.index}: ${m.testCase.method.name} ${m.testCase.description}`).join('; ');
    lines.push(`| ${members.length} | ${categories} | ${clip(methods)} | ${clip(subject!)} | ${clip(reference!)} | ${clip(examples)} |`);
  }
  if (sorted.length > GROUPS_MAX) lines.push('', `…and ${sorted.length - GROUPS_MAX} smaller groups (see the JSON).`);
  return `${lines.join('\n')}\n`;
}

export function jsonReport(results: readonly PairedResult[], context: ReportContext): object {
  return {
    ...context,
    cases: results.map((r) => ({
      index: r.testCase.index, category: r.testCase.category, method: r.testCase.method.name, description: r.testCase.description,
      wellFormed: r.testCase.wellFormed, differs: differs(r),
      [context.subjectName]: { status: r.subject.status, message: r.subject.message, transport: r.subject.transport, responses: r.subject.responses },
      [context.referenceName]: { status: r.reference.status, message: r.reference.message, transport: r.reference.transport, responses: r.reference.responses },
    })),
  };
}
