// The faults the chaos suite injects into a running cluster. Each one starts with inject() and
// ends with heal(); between the two the workload keeps running. Every choice (which member, how
// long) comes from the scenario's seeded PRNG.

import { call } from '../integration/harness.js';
import type { FaultCluster, FaultMember } from './cluster.js';
import type { Random } from './random.js';

export interface Fault {
  readonly name: string;
  inject(): Promise<void>;
  heal(): Promise<void>;
}

type FaultMaker = (cluster: FaultCluster, random: Random) => Promise<Fault>;

/** The leader a majority follows, or (mid-fault, when none does) any running member in its place. */
async function leaderAndFollowers(cluster: FaultCluster): Promise<{ leader: FaultMember; followers: FaultMember[] }> {
  const running = cluster.running;
  const leader = (await cluster.majorityLeader()) ?? running.find((member) => !member.paused) ?? running[0]!;
  return { leader, followers: running.filter((member) => member !== leader) };
}

/** Runs `body` every `periodMs` until stopped: the flapping link. */
function every(periodMs: () => number, body: () => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const loop = (): void => {
    body();
    timer = setTimeout(loop, periodMs());
  };
  loop();
  return () => {
    if (timer !== null) clearTimeout(timer);
  };
}

export const FAULTS: Record<string, FaultMaker> = {
  'kill-follower': async (cluster, random) => {
    const target = random.pick((await leaderAndFollowers(cluster)).followers);
    return { name: `kill -9 follower ${target.name}`, inject: () => cluster.kill(target), heal: async () => cluster.launch(target, 'existing') };
  },
  'kill-leader': async (cluster) => {
    const { leader } = await leaderAndFollowers(cluster);
    return { name: `kill -9 leader ${leader.name}`, inject: () => cluster.kill(leader), heal: async () => cluster.launch(leader, 'existing') };
  },
  'kill-all': async (cluster) => {
    const victims = cluster.running;
    return {
      name: 'kill -9 every member',
      inject: async () => {
        await Promise.all(victims.map((member) => cluster.kill(member)));
      },
      heal: async () => {
        for (const member of victims) cluster.launch(member, 'existing');
      },
    };
  },
  'pause-leader': async (cluster) => {
    const { leader } = await leaderAndFollowers(cluster);
    return { name: `SIGSTOP leader ${leader.name}`, inject: async () => cluster.pause(leader), heal: async () => cluster.resume(leader) };
  },
  'pause-follower': async (cluster, random) => {
    const target = random.pick((await leaderAndFollowers(cluster)).followers);
    return { name: `SIGSTOP follower ${target.name}`, inject: async () => cluster.pause(target), heal: async () => cluster.resume(target) };
  },
  'isolate-leader': async (cluster) => {
    const { leader, followers } = await leaderAndFollowers(cluster);
    return { name: `isolate leader ${leader.name}`, inject: async () => cluster.partition([[leader], followers]), heal: async () => cluster.heal() };
  },
  'split-minority': async (cluster, random) => {
    const members = [...cluster.running];
    const minoritySize = Math.max(1, Math.floor((members.length - 1) / 2));
    const minority: FaultMember[] = [];
    while (minority.length < minoritySize) minority.push(members.splice(random.int(members.length), 1)[0]!);
    return {
      name: `split ${minority.map((m) => m.name).join('+')} | ${members.map((m) => m.name).join('+')}`,
      inject: async () => cluster.partition([minority, members], random.pick(['stall', 'reset'] as const)),
      heal: async () => cluster.heal(),
    };
  },
  'one-way-loss': async (cluster, random) => {
    const { leader, followers } = await leaderAndFollowers(cluster);
    const follower = random.pick(followers);
    const [from, to] = random.int(2) === 0 ? [leader, follower] : [follower, leader];
    return { name: `one-way loss ${from.name}->${to.name}`, inject: async () => cluster.link(from, to).setMode('stall'), heal: async () => cluster.heal() };
  },
  'flapping-link': async (cluster, random) => {
    const { leader, followers } = await leaderAndFollowers(cluster);
    const follower = random.pick(followers);
    let stop = (): void => {};
    return {
      name: `flapping link ${leader.name}<->${follower.name}`,
      inject: async () => {
        let down = false;
        stop = every(() => random.between(50, 300), () => {
          down = !down;
          for (const [a, b] of [[leader, follower], [follower, leader]] as const) cluster.link(a, b).setMode(down ? 'reset' : 'pass');
        });
      },
      heal: async () => {
        stop();
        cluster.heal();
      },
    };
  },
  'slow-disk': async (cluster, random) => {
    const targets = (random.int(2) === 0 ? [(await leaderAndFollowers(cluster)).leader] : cluster.running).filter((member) => !member.paused);
    const delayMs = String(random.between(50, 300));
    return {
      name: `slow disk (${delayMs} ms per save) on ${targets.map((m) => m.name).join('+')}`,
      inject: async () => {
        for (const member of targets) await cluster.failpoint(member, 'wal-save-delay-ms', delayMs).catch(() => {});
      },
      heal: async () => {
        for (const member of targets) await cluster.failpoint(member, 'wal-save-delay-ms', null).catch(() => {});
      },
    };
  },
  'transfer-leader': async (cluster, random) => {
    const { leader, followers } = await leaderAndFollowers(cluster);
    const target = random.pick(followers);
    return {
      name: `move leader ${leader.name} -> ${target.name}`,
      inject: async () => {
        await call(cluster.client(leader, 'Maintenance'), 'MoveLeader', { targetID: target.id }, 5000).catch(() => {});
      },
      heal: async () => {},
    };
  },
  'membership-change': async (cluster, random) => {
    const spare = cluster.members.find((member) => member.process === null && !cluster.founders.includes(member));
    const { leader, followers } = await leaderAndFollowers(cluster);
    // A paused member cannot say who it is (nor leave gracefully): remove one that runs.
    const leaving = random.pick(followers.filter((member) => !member.paused).length > 0 ? followers.filter((member) => !member.paused) : followers);
    return {
      name: spare === undefined ? 'membership change (no spare left)' : `add learner ${spare.name}, promote it, remove ${leaving.name}`,
      inject: async () => {
        if (spare === undefined) return;
        const admin = cluster.client(leader, 'Cluster');
        const added = await call(admin, 'MemberAdd', { peerURLs: [cluster.peerUrl(spare)], isLearner: true }, 5000);
        spare.id = Number(added.member.ID);
        cluster.launch(spare, 'existing', [...cluster.running, spare]);
        const deadline = Date.now() + 15_000;
        for (;;) {
          try {
            await call(cluster.client((await cluster.majorityLeader(10_000)) ?? leader, 'Cluster'), 'MemberPromote', { ID: spare.id }, 5000);
            break;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
        const leavingId = Number((await call(cluster.client(leaving, 'Maintenance'), 'Status', {}, 5000)).header.member_id);
        // A removed member shuts itself down (expected), and is no longer part of the cluster to check.
        cluster.retire(leaving);
        try {
          await call(cluster.client((await cluster.majorityLeader(10_000)) ?? leader, 'Cluster'), 'MemberRemove', { ID: leavingId }, 5000);
        } catch (error) {
          leaving.member = true;
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        await cluster.kill(leaving);
      },
      heal: async () => {},
    };
  },
};

export const FAULT_NAMES = Object.keys(FAULTS);
