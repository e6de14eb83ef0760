// Differential bad-input run: the same seeded cases to raftkv and to etcd 3.4, and a report of the
// cases whose answers differ.
//
//   npm run badinput -- --seed 1 --count 300 [--endpoint HOST:PORT] [--against HOST:PORT]
//                       [--membership] [--only 4,17] [--out report.md] [--json report.json]
//
// Without --endpoint a one-member raftkv starts from bin/raftkv; without --against an etcd from
// PATH; both on loopback with fresh data dirs, stopped at the end.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateCase, type BadInputCase } from './generate.js';
import { jsonReport, markdownReport, differs, type PairedResult } from './report.js';
import { BadInputRunner } from './runner.js';
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

async function main(): Promise<void> {
  const indexes = values.only === undefined ? Array.from({ length: count }, (_, i) => i) : values.only.split(',').map(Number);
  const all = indexes.map((i) => generateCase(seed, i));
  const cases: BadInputCase[] = all.filter((c) => values.membership || c.group !== 'membership');
  // Membership cases last: on a server that mishandles one, nothing after it is learned.
  cases.sort((a, b) => Number(a.group === 'membership') - Number(b.group === 'membership') || a.index - b.index);
  const subjectServer = values.endpoint === undefined ? await startRaftkv() : null;
  if (subjectServer !== null) started.push(subjectServer);
  const referenceServer = values.against === undefined ? await startEtcd() : null;
  if (referenceServer !== null) started.push(referenceServer);
  const subject = new BadInputRunner(values.endpoint ?? subjectServer!.endpoint);
  const reference = new BadInputRunner(values.against ?? referenceServer!.endpoint);
  const subjectTarget = await subject.prepare(false);
  const referenceTarget = await reference.prepare(false);
  const results: PairedResult[] = [];
  const watched = [...started];
  const notes: string[] = [];
  for (const testCase of cases) {
    const subjectOutcome = await subject.run(testCase, subjectTarget).catch((error: unknown) => failed(error));
    const referenceOutcome = await reference.run(testCase, referenceTarget).catch((error: unknown) => failed(error));
    const result = { testCase, subject: subjectOutcome, reference: referenceOutcome };
    results.push(result);
    if (differs(result)) process.stdout.write(`case ${testCase.index} ${testCase.category} ${testCase.method.name}: ${testCase.description.slice(0, 100)}\n  raftkv: ${subjectOutcome.status} ${subjectOutcome.message.slice(0, 120)} ${subjectOutcome.transport ?? ''}\n  etcd:   ${referenceOutcome.status} ${referenceOutcome.message.slice(0, 120)} ${referenceOutcome.transport ?? ''}\n`);
    for (const server of [...watched]) {
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        notes.push(`${server.name} exited (${server.child.exitCode ?? server.child.signalCode}) after case ${testCase.index} (${testCase.category}, ${testCase.method.name}: ${testCase.description.slice(0, 120)}); later cases got no answer from it.`);
        watched.splice(watched.indexOf(server), 1);
      }
    }
  }
  subject.close();
  reference.close();
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
