// Seeded bad input on every client method of a 3-member cluster (test/badinput): after each batch
// every member still runs and serves a linearizable write and read, and at the end the guard keys,
// which only malformed requests aim at, are as they were written. A malformed write must never apply.
//
// RAFTKV_FUZZ_SEED (default below) and RAFTKV_FUZZ_COUNT pick the cases; the failure message
// names the command that replays them. Categories that break raftkv today are sent only when their
// flag is set (GATED); MemberAdd/MemberUpdate only with RAFTKV_FUZZ_MEMBERSHIP=1, since a hostile
// peer URL kills every member today, and again on restart.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCases, type BadInputCase, type Category } from '../badinput/generate.js';
import { BadInputRunner, GUARD_RANGE } from '../badinput/runner.js';
import type { TargetInfo } from '../badinput/request.js';
import type { Outcome } from '../badinput/send.js';
import { TestCluster, call, eventually } from './harness.js';

const DEFAULT_SEED = 20261127;
const SEED = Number(process.env.RAFTKV_FUZZ_SEED ?? DEFAULT_SEED);
const COUNT = Number(process.env.RAFTKV_FUZZ_COUNT ?? 300);
const BATCH_CASES = 40;
const MEMBERSHIP = process.env.RAFTKV_FUZZ_MEMBERSHIP === '1';
const ALL = process.env.RAFTKV_FUZZ_ALL === '1';

/**
 * Categories that break raftkv today, each sent only when its flag is 1 (or RAFTKV_FUZZ_ALL=1).
 * Both make a malformed write apply (the guard keys change): protobufjs reads a field of the wrong
 * wire type as if it were right, and takes a length of 2^32+k as k. Enable them once decoding is strict.
 */
const GATED: Partial<Record<Category, string>> = {
  'wrong-wire-type': 'RAFTKV_FUZZ_WIRE_TYPES',
  'huge-length': 'RAFTKV_FUZZ_HUGE_LENGTHS',
};

const enabled = (category: Category): boolean => {
  const flag = GATED[category];
  return flag === undefined || ALL || process.env[flag] === '1';
};

const everyCase = generateCases(SEED, COUNT);
const defaultCases = everyCase.filter((c) => c.group === 'default' && enabled(c.category));
const membershipCases = everyCase.filter((c) => c.group === 'membership' && enabled(c.category));
const batches = (cases: BadInputCase[]): BadInputCase[][] => Array.from({ length: Math.ceil(cases.length / BATCH_CASES) }, (_, i) => cases.slice(i * BATCH_CASES, (i + 1) * BATCH_CASES));

const flags = (): string =>
  ['RAFTKV_FUZZ_MEMBERSHIP', 'RAFTKV_FUZZ_ALL', ...Object.values(GATED)].filter((flag) => process.env[flag] === '1').map((flag) => ` ${flag}=1`).join('');
const replay = (): string =>
  `seed ${SEED}: replay with RAFTKV_FUZZ_SEED=${SEED} RAFTKV_FUZZ_COUNT=${COUNT}${flags()} npx vitest run test/integration/bad-input-fuzz.test.ts` +
  ` (one case against etcd: npm run badinput -- --seed ${SEED} --only N)`;

let cluster: TestCluster;
let runners: BadInputRunner[];
let target: TargetInfo;
let guardsBefore: Map<string, string>;

beforeAll(async () => {
  cluster = await TestCluster.start(3);
  runners = cluster.members.map((m) => new BadInputRunner(`127.0.0.1:${m.clientPort}`));
  target = await runners[0]!.prepare(true, MEMBERSHIP);
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

  it.skipIf(!MEMBERSHIP)(`membership cases (${membershipCases.length} MemberAdd/MemberUpdate, hostile peer URLs among them; RAFTKV_FUZZ_MEMBERSHIP=1)`, async () => {
    for (const [i, batch] of batches(membershipCases).entries()) await runBatch(`membership batch ${i + 1}`, batch);
  });

  it('the guard keys, aimed at only by malformed writes, are unchanged', async () => {
    const guardsAfter = await runners[0]!.snapshot(GUARD_RANGE.start, GUARD_RANGE.end);
    const aimed = [...defaultCases, ...(MEMBERSHIP ? membershipCases : [])].filter((c) => c.targetsGuard);
    expect(Object.fromEntries(guardsAfter), `${replay()}\nmalformed cases aimed at the guards: ${aimed.map((c) => `${c.index} ${c.category} ${c.method.name}: ${c.description}`).join('; ')}`).toEqual(Object.fromEntries(guardsBefore));
  });
});
