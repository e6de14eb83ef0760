// Differential bad-input run: the same seeded cases to raftkv and to etcd 3.4, and a report of the
// cases whose answers differ.
//
//   npm run badinput -- --seed 1 --count 300 [--endpoint HOST:PORT] [--against HOST:PORT]
//                       [--membership] [--only 4,17] [--out report.md] [--json report.json]
//
// Without --endpoint a one-member raftkv starts from bin/raftkv; without --against an etcd from
// PATH; both on loopback with fresh data dirs, stopped at the end, and restarted (fresh) when a
// case kills one. Both are one-member clusters, so MemberAdd cases add learners only.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateCase, type BadInputCase } from './generate.js';
import { jsonReport, markdownReport, differs, type PairedResult } from './report.js';
import { BadInputRunner } from './runner.js';
import type { TargetInfo } from './request.js';
import { startEtcd, startRaftkv, type StartedServer } from './servers.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '300' },
    endpoint: { type: 'string' },
    against: { type: 'string' },
    membership: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
  },
});

const seed = Number(values.seed);
const count = Number(values.count);
const started: StartedServer[] = [];

/** One server under test: given by address, or started here and restarted when a case kills it. */
interface Side {
  readonly name: string;
  readonly endpoint: string | undefined;
  readonly start: () => Promise<StartedServer>;
  server: StartedServer | null;
  runner: BadInputRunner;
  target: TargetInfo;
}

async function openSide(name: string, endpoint: string | undefined, start: () => Promise<StartedServer>): Promise<Side> {
  const server = endpoint === undefined ? await start() : null;
  if (server !== null) started.push(server);
  const runner = new BadInputRunner(endpoint ?? server!.endpoint);
  // No spare learner here: etcd allows one learner, and MemberAdd cases add theirs. MemberUpdate
  // cases rewrite the one member's own URLs, which a one-member cluster never dials.
  const target = await runner.prepare(false, false, true);
  return { name, endpoint, start, server, runner, target };
}

/** After a case: a started server that died is noted with its last words and started afresh. */
async function reviveIfDead(side: Side, testCase: BadInputCase, notes: string[]): Promise<void> {
  const child = side.server?.child;
  if (child === undefined) return;
  // A process that stopped answering is given a moment to exit, so its death is put on this case.
  if (child.exitCode === null && child.signalCode === null && !(await side.runner.answers())) await new Promise((resolve) => setTimeout(resolve, 1000));
  if (child.exitCode === null && child.signalCode === null) return;
  const lines = side.server!.output.trim().split('\n');
  const lastWords = [...lines.filter((line) => /^panic|fatal/i.test(line)).slice(0, 2), ...lines.slice(-2)].join(' ⏎ ').slice(0, 600);
  notes.push(`${side.name} exited (${child.exitCode ?? child.signalCode}) on case ${testCase.index} (${testCase.category}, ${testCase.method.name}: ${testCase.description.slice(0, 120)}); restarted with a fresh data dir. Its last output: \`${lastWords}\``);
  side.runner.close();
  await side.server!.stop();
  const revived = await openSide(side.name, undefined, side.start);
  Object.assign(side, { server: revived.server, runner: revived.runner, target: revived.target });
}

async function main(): Promise<void> {
  const indexes = values.only === undefined ? Array.from({ length: count }, (_, i) => i) : values.only.split(',').map(Number);
  const all = indexes.map((i) => generateCase(seed, i));
  const cases: BadInputCase[] = all.filter((c) => values.membership || c.group !== 'membership');
  // Membership cases last: on a server that mishandles one, nothing after it is learned.
  cases.sort((a, b) => Number(a.group === 'membership') - Number(b.group === 'membership') || a.index - b.index);
  const subject = await openSide('raftkv', values.endpoint, startRaftkv);
  const reference = await openSide('etcd', values.against, startEtcd);
  const results: PairedResult[] = [];
  const notes: string[] = [];
  for (const testCase of cases) {
    const subjectOutcome = await subject.runner.run(testCase, subject.target).catch((error: unknown) => failed(error));
    const referenceOutcome = await reference.runner.run(testCase, reference.target).catch((error: unknown) => failed(error));
    const result = { testCase, subject: subjectOutcome, reference: referenceOutcome };
    results.push(result);
    if (differs(result)) process.stdout.write(`case ${testCase.index} ${testCase.category} ${testCase.method.name}: ${testCase.description.slice(0, 100)}\n  raftkv: ${subjectOutcome.status} ${subjectOutcome.message.slice(0, 120)} ${subjectOutcome.transport ?? ''}\n  etcd:   ${referenceOutcome.status} ${referenceOutcome.message.slice(0, 120)} ${referenceOutcome.transport ?? ''}\n`);
    await reviveIfDead(subject, testCase, notes);
    await reviveIfDead(reference, testCase, notes);
  }
  subject.runner.close();
  reference.runner.close();
  const command = `npm run badinput -- --seed ${seed} --count ${count}${values.membership ? ' --membership' : ''}`;
  const context = { seed, count, command, subjectName: 'raftkv', referenceName: 'etcd 3.4', notes };
  const markdown = markdownReport(results, context);
  if (values.out !== undefined) writeFileSync(values.out, markdown);
  else process.stdout.write(markdown);
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(jsonReport(results, context), null, 1)}\n`);
}

function failed(error: unknown): import('./send.js').Outcome {
  return { status: null, message: '', httpStatus: null, responses: [], transport: `state check failed: ${String(error)}`, bodies: [] };
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const server of started) await server.stop();
  });
