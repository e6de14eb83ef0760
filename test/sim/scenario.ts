// Everything about one simulated run follows from its seed, so one number replays it exactly.

import { SeededRandom } from '../../src/raft/index.js';
import type { NetworkOptions } from './network.js';

export interface Scenario {
  readonly seed: number;
  readonly memberCount: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Simulated time with faults, then faults heal and liveness is checked. */
  readonly faultPhaseTicks: number;
  /** After healing, a leader must commit a new proposal on every live member within this. */
  readonly livenessTicksMax: number;
  readonly network: NetworkOptions;
  readonly diskLatencyMaxMs: number;
  readonly clientOpIntervalMaxMs: number;
  readonly faultIntervalMaxMs: number;
  readonly snapshotEveryEntries: number;
  readonly snapshotCatchUpEntries: number;
  /** A follower's snapshot travels in this many chunks, each a delivery of its own. */
  readonly snapshotChunks: number;
  /** Chance that a member crashes around installing a snapshot (staged, or switched in before the WAL records it). */
  readonly installCrashProbability: number;
  readonly inflightMessagesMax: number;
  readonly messageBytesMax: number;
  readonly membershipChanges: boolean;
  readonly preVote: boolean;
}

export interface ScenarioOverrides {
  memberCount?: number;
  faultPhaseTicks?: number;
}

export function scenarioForSeed(seed: number, overrides: ScenarioOverrides = {}): Scenario {
  const random = new SeededRandom(seed * 2654435761 + 17);
  const delayMinMs = random.intBetween(0, 5);
  return {
    seed,
    memberCount: overrides.memberCount ?? (random.chance(0.5) ? 3 : 5),
    tickMs: 10,
    electionTicks: 10,
    heartbeatTicks: random.pick([1, 2, 3]),
    faultPhaseTicks: overrides.faultPhaseTicks ?? 3000,
    livenessTicksMax: 400,
    network: {
      delayMinMs,
      delayMaxMs: delayMinMs + random.intBetween(1, 40),
      lossProbability: random.pick([0, 0.01, 0.05, 0.15]),
      duplicateProbability: random.pick([0, 0.02, 0.1]),
      packetsInFlightMax: 5000,
    },
    diskLatencyMaxMs: random.pick([0, 2, 8]),
    clientOpIntervalMaxMs: random.pick([5, 20, 60]),
    faultIntervalMaxMs: random.pick([100, 400, 1500]),
    snapshotEveryEntries: random.pick([10, 50, 200]),
    snapshotCatchUpEntries: random.pick([0, 5, 50]),
    inflightMessagesMax: random.pick([1, 4, 256]),
    messageBytesMax: random.pick([64, 1024, 1024 * 1024]),
    membershipChanges: random.chance(0.6),
    preVote: random.chance(0.85),
    // Drawn last, so every earlier choice stays what it was for each seed.
    snapshotChunks: random.pick([2, 4, 8, 16]),
    installCrashProbability: random.pick([0, 0.1, 0.3]),
  };
}
