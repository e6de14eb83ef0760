// Seeded bad input on every client method of a 3-member cluster (test/badinput): after each batch
// every member still runs and serves a linearizable write and read, and at the end the guard keys,
// which only malformed requests aim at, are as they were written. A malformed write must never apply.
//
// RAFTKV_FUZZ_SEED (default below) and RAFTKV_FUZZ_COUNT pick the cases; the failure message
// names the command that replays them. Every category is sent, membership cases (MemberAdd and
// MemberUpdate with hostile peer URLs, which once stopped every member for good) last.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCases, type BadInputCase } from '../badinput/generate.js';
import { BadInputRunner, GUARD_RANGE } from '../badinput/runner.js';
import type { TargetInfo } from '../badinput/request.js';
import type { Outcome } from '../badinput/send.js';
import { TestCluster, call, eventually } from './harness.js';

const DEFAULT_SEED = 20261127;
const SEED = Number(process.env.RAFTKV_FUZZ_SEED ?? DEFAULT_SEED);
const COUNT = Number(process.env.RAFTKV_FUZZ_COUNT ?? 300);
const BATCH_CASES = 40;
const everyCase = generateCases(SEED, COUNT);
const defaultCases = everyCase.filter((c) => c.group === 'default');
const membershipCases = everyCase.filter((c) => c.group === 'membership');
const batches = (cases: BadInputCase[]): BadInputCase[][] => Array.from({ length: Math.ceil(cases.length / BATCH_CASES) }, (_, i) => cases.slice(i * BATCH_CASES, (i + 1) * BATCH_CASES));

const replay = (): string =>
  `seed ${SEED}: replay with RAFTKV_FUZZ_SEED=${SEED} RAFTKV_FUZZ_COUNT=${COUNT} npx vitest run test/integration/bad-input-fuzz.test.ts` +
  ` (one case against etcd: npm run badinput -- --seed ${SEED} --only N)`;

let cluster: TestCluster;
let runners: BadInputRunner[];
let target: TargetInfo;
let guardsBefore: Map<string, string>;

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  runners = cluster.members.map((m) => new BadInputRunner(`127.0.0.1:${m.clientPort}`));
  target = await runners[0]!.prepare(true, true);
  for (const runner of runners.slice(1)) await runner.recordInitialMembers();
  guardsBefore = await runners[0]!.snapshot(GUARD_RANGE.start, GUARD_RANGE.end);
}, 60_000);

afterAll(async () => {
  for (const runner of runners ?? []) runner.close();
  await cluster?.stop();
});

function describeBatch(results: Array<[BadInputCase, Outcome]>): string {
  return results
    .map(([c, o]) => `  case ${c.index} → m${(c.index % 3) + 1} ${c.category} ${c.method.name}: ${c.description.slice(0, 100)} ⇒ ${o.status ?? `no status (${o.transport ?? 'cancelled'})`} ${o.message.slice(0, 100)}`)
    .join('\n');
}

/** Every member alive, and a linearizable Put then Range of a sentinel key works through each. */
async function checkCluster(label: string, results: Array<[BadInputCase, Outcome]>): Promise<void> {
  const context = `${replay()}\nafter ${label}:\n${describeBatch(results)}`;
  for (const member of cluster.members) {
    expect(member.process === null ? 'not running' : member.process.exitCode, `${member.name} exited\n${member.output.slice(-3000)}\n${context}`).toBeNull();
    expect(member.process?.signalCode, `${member.name} was killed\n${context}`).toBeNull();
  }
  for (const member of cluster.members) {
    const value = Buffer.from(`${label} via ${member.name}`);
    await eventually(`sentinel write and read through ${member.name} (${context})`, async () => {
      await call(cluster.client(member), 'Put', { key: Buffer.from('fz/sentinel'), value });
      const read = await call(cluster.client(member), 'Range', { key: Buffer.from('fz/sentinel') });
      if (!Buffer.from(read.kvs[0]?.value ?? []).equals(value)) throw new Error(`read ${String(read.kvs[0]?.value)}`);
    });
  }
}

async function runBatch(label: string, batch: BadInputCase[]): Promise<void> {
  const results: Array<[BadInputCase, Outcome]> = [];
  for (const testCase of batch) results.push([testCase, await runners[testCase.index % runners.length]!.run(testCase, target)]);
  await checkCluster(label, results);
}

describe(`bad-input fuzz, ${replay()}`, () => {
  batches(defaultCases).forEach((batch, i) => {
    it(`batch ${i + 1}: cases ${batch[0]!.index}..${batch.at(-1)!.index} (${[...new Set(batch.map((c) => c.category))].join(', ')})`, () => runBatch(`batch ${i + 1}`, batch));
  });

  it(`membership cases (${membershipCases.length} MemberAdd/MemberUpdate, hostile peer URLs among them)`, async () => {
    for (const [i, batch] of batches(membershipCases).entries()) await runBatch(`membership batch ${i + 1}`, batch);
  });

  it('the guard keys, aimed at only by malformed writes, are unchanged', async () => {
    const guardsAfter = await runners[0]!.snapshot(GUARD_RANGE.start, GUARD_RANGE.end);
    const aimed = everyCase.filter((c) => c.targetsGuard);
    expect(Object.fromEntries(guardsAfter), `${replay()}\nmalformed cases aimed at the guards: ${aimed.map((c) => `${c.index} ${c.category} ${c.method.name}: ${c.description}`).join('; ')}`).toEqual(Object.fromEntries(guardsBefore));
  });
});
