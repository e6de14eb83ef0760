// One chaos scenario: a fresh cluster, the workload on every member, a schedule of faults (each
// alone, or several overlapping) decided by the seed, then every member restarted and healed, and
// the checkers run over what was recorded: linearizability of the KV history, the watch
// guarantees on every watcher, durability of every acknowledged write, and equal HashKV on every
// member at a common revision.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { call, eventually } from '../integration/harness.js';
import { readHistory } from '../integration/watch-client.js';
import { checkHistoryAgainstWrites, checkWatch, type HistoryEvent } from '../support/watch-checker.js';
import { checkLinearizable } from './checker/linearizability.js';
import { FaultCluster } from './cluster.js';
import { FAULTS, type Fault } from './faults.js';
import { Random } from './random.js';
import { KEY_PREFIX, Workload } from './workload.js';

export interface ScenarioOptions {
  readonly seed: number;
  /** Fault names from FAULTS; several run overlapping. Empty: the seed picks one or two. */
  readonly faults?: readonly string[];
  readonly size?: 3 | 5;
  /** How long the faults last, in all. */
  readonly durationMs?: number;
  /** Failpoints every member starts with (e.g. a deliberate bug the checkers must catch). */
  readonly failpoints?: Record<string, string>;
  /** Where to keep the history and member logs of a failing run. */
  readonly artifactsDir?: string;
}

export interface ScenarioResult {
  readonly seed: number;
  readonly scenario: string;
  readonly operations: number;
  readonly faultsInjected: number;
  readonly indeterminate: number;
  readonly verdict: 'ok' | 'FAIL';
  readonly violations: string[];
  /** Operations that completed before the first fault: the faults hit a working load. */
  readonly completedBeforeFaults: number;
  /** Operations called after the heal that completed: the cluster served again. */
  readonly completedAfterHeal: number;
  /** The longest time from a heal to the next acknowledged write. */
  readonly recoverMs: number;
  readonly artifacts?: string;
}

/**
 * Completed operations the scenario waits for before the faults and after the heal, instead of
 * fixed times: on a loaded machine a fixed window may hold none, which would leave the checkers
 * nothing to check.
 */
export const PHASE_OPERATIONS_MIN = 20;
/** Generous: only a cluster that stopped serving altogether takes this long. */
const PHASE_TIMEOUT_MS = 30_000;

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  // Two streams from one seed: the workload's draws depend on timing, the fault schedule's must not.
  const random = new Random(options.seed);
  const workloadRandom = new Random(options.seed ^ 0x5bd1e995);
  const size = options.size ?? (random.int(4) === 0 ? 5 : 3);
  const faultNames = options.faults !== undefined && options.faults.length > 0 ? options.faults : pickFaults(random);
  const durationMs = options.durationMs ?? 3000;
  const logDir = options.artifactsDir === undefined ? undefined : join(options.artifactsDir, `seed-${options.seed}`);
  if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
  const cluster = await FaultCluster.start({ size, spares: faultNames.includes('membership-change') ? 1 : 0, failpoints: options.failpoints, logDir });
  const workload = new Workload(cluster, workloadRandom, { clientsPerMember: 2, keys: 8 });
  const names: string[] = [];
  let recoverMs = 0;
  let result: ScenarioResult;
  try {
    workload.start();
    const completedBeforeFaults = await workload.waitForCompleted(0, PHASE_OPERATIONS_MIN, PHASE_TIMEOUT_MS, 'before the faults');
    const faults: Fault[] = [];
    for (const name of faultNames) {
      const fault = await FAULTS[name]!(cluster, random);
      names.push(fault.name);
      await fault.inject();
      faults.push(fault);
      await sleep(durationMs / faultNames.length);
    }
    for (const fault of faults) await fault.heal();
    const healedAtMs = performance.now();
    recoverMs = await timeToFirstWrite(cluster);
    const completedAfterHeal = await workload.waitForCompleted(healedAtMs, PHASE_OPERATIONS_MIN, PHASE_TIMEOUT_MS, 'after the heal');
    await workload.stop();
    await restoreEverything(cluster);
    const violations = await check(cluster, workload);
    result = {
      seed: options.seed,
      scenario: `${size} members: ${names.join(' + ')}`,
      operations: workload.operations.length,
      faultsInjected: faults.length,
      indeterminate: workload.indeterminate,
      completedBeforeFaults,
      completedAfterHeal,
      verdict: violations.length === 0 ? 'ok' : 'FAIL',
      violations,
      recoverMs,
    };
  } finally {
    await workload.stop();
    for (const watch of workload.watches) watch.session.close();
    await cluster.stop();
  }
  if (logDir === undefined) return result;
  if (result.verdict === 'ok') {
    rmSync(logDir, { recursive: true, force: true });
    return result;
  }
  writeFileSync(join(logDir, 'history.json'), JSON.stringify({ options, result, operations: workload.operations, puts: workload.acknowledgedPuts }, null, 1));
  return { ...result, artifacts: logDir };
}

function pickFaults(random: Random): string[] {
  const names = Object.keys(FAULTS);
  const first = random.pick(names);
  if (random.int(2) === 0) return [first];
  const second = random.pick(names.filter((name) => name !== first && name !== 'kill-all'));
  return first === 'kill-all' ? [first] : [first, second];
}

/** After the faults: from the heal to the first write acknowledged by the cluster. */
async function timeToFirstWrite(cluster: FaultCluster): Promise<number> {
  const started = performance.now();
  const deadline = started + 30_000;
  while (performance.now() < deadline) {
    for (const member of cluster.running) {
      try {
        await call(cluster.client(member), 'Put', { key: Buffer.from('/probe'), value: Buffer.from('x') }, 1000);
        return Math.round(performance.now() - started);
      } catch {
        // not yet
      }
    }
    await sleep(20);
  }
  throw new Error('the cluster took no write within 30 s of the heal');
}

/** "After the last restart": every member of the cluster running, resumed, reachable. */
async function restoreEverything(cluster: FaultCluster): Promise<void> {
  cluster.heal();
  for (const member of cluster.active) {
    cluster.resume(member);
    if (member.process === null) cluster.launch(member, 'existing');
  }
  await cluster.waitForLeader(30_000);
  for (const member of cluster.active) {
    await eventually(`${member.name} serving`, () => call(cluster.client(member, 'Maintenance'), 'Status', {}, 1000), 30_000);
  }
}

async function check(cluster: FaultCluster, workload: Workload): Promise<string[]> {
  const violations: string[] = cluster.members.flatMap((member) => member.unexpectedExits.map((exit) => `crash: ${exit}`));
  const linearizable = checkLinearizable(workload.operations, { timeoutMs: 60_000 });
  if (linearizable.timedOut) violations.push('linearizability: the check timed out');
  for (const failure of linearizable.failures) violations.push(`linearizability: key ${failure.key}: ${failure.message}`);

  // One revision every member has reached: the leader's, read linearizably.
  const leader = await cluster.waitForLeader();
  const revision = Number((await call(cluster.client(leader), 'Range', { key: Buffer.from(KEY_PREFIX) }, 5000)).header.revision);
  const histories: HistoryEvent[][] = [];
  for (const member of cluster.active) histories.push(await readHistory(cluster.client(member, 'Watch'), KEY_PREFIX, '\0', revision));
  for (const [i, other] of histories.entries()) {
    if (JSON.stringify(other) !== JSON.stringify(histories[0])) violations.push(`history: ${cluster.active[i]!.name} disagrees with ${cluster.active[0]!.name}`);
  }
  const history = histories[0]!;
  violations.push(...checkHistoryAgainstWrites(history, workload.acknowledgedPuts).map((v) => `durability: ${v}`));

  const hashes = new Set<number>();
  for (const member of cluster.active) hashes.add(Number((await call(cluster.client(member, 'Maintenance'), 'HashKV', { revision }, 5000)).hash));
  if (hashes.size !== 1) violations.push(`HashKV at revision ${revision} differs between members: ${[...hashes].join(', ')}`);

  for (const watch of workload.watches) {
    if (watch.watchId < 0) continue;
    if (!watch.dead) {
      // A live watcher is judged once it has caught up with the common revision.
      try {
        await watch.session.progressUntil(revision, 20_000);
      } catch (error) {
        violations.push(`watch on ${watch.member.name}: no progress to revision ${revision}: ${String(error)}`);
        continue;
      }
    }
    const recording = watch.session.recording(watch.watchId, `${watch.member.name} watcher from ${watch.startRevision}`);
    violations.push(...checkWatch(recording, history.filter((event) => event.revision <= revision)).map((v) => `watch: ${v}`));
  }
  return violations;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
