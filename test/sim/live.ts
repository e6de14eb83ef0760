// `npm start` until the server exists: a simulated five-member cluster running in real time, with
// faults, printing its progress once a second. Stop with Ctrl-C, or pass --seconds N.

import { SimCluster } from './cluster.js';
import { scenarioForSeed } from './scenario.js';

const STEP_MS = 50;
const REPORT_EVERY_MS = 1000;

function argument(name: string): number | undefined {
  const at = process.argv.indexOf(name);
  if (at < 0) return undefined;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} needs a whole number`);
  return value;
}

const seed = argument('--seed') ?? Date.now() % 1_000_000;
const seconds = argument('--seconds');
const cluster = new SimCluster(scenarioForSeed(seed, { memberCount: 5, faultPhaseTicks: Number.MAX_SAFE_INTEGER / 100 }));
console.log(`raftkv: the member process is not built yet; running a simulated 5-member cluster (seed ${seed}) in real time.`);
console.log('Faults (partitions, crashes, loss) are injected; every invariant is checked after every event. Ctrl-C stops.');

const startedAt = Date.now();
let lastReportAt = 0;
const timer = setInterval(() => {
  const elapsedMs = Date.now() - startedAt;
  const violation = cluster.runUntil(elapsedMs);
  if (violation !== null) {
    console.error(`VIOLATION: ${violation.message}\nreplay: npm run sim -- --seed ${seed} --verbose`);
    clearInterval(timer);
    process.exitCode = 1;
    return;
  }
  if (elapsedMs - lastReportAt >= REPORT_EVERY_MS) {
    lastReportAt = elapsedMs;
    const stats = cluster.result().stats;
    const leader = cluster.leader();
    console.log(
      `t=${(elapsedMs / 1000).toFixed(0)}s leader=${leader?.id ?? 'none'} term=${leader?.node?.term() ?? '-'} ` +
        `committed=${stats.committedIndex} acked-writes=${stats.acknowledgedWrites} reads=${stats.readsConfirmed} ` +
        `elections=${stats.leaderChanges} crashes=${stats.crashes} | ${cluster.describeMembers()}`,
    );
  }
  if (seconds !== undefined && elapsedMs >= seconds * 1000) {
    clearInterval(timer);
    console.log('done: no invariant violated');
  }
}, STEP_MS);
process.on('SIGINT', () => {
  clearInterval(timer);
  console.log('\nstopped: no invariant violated');
});
