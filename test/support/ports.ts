// Ports for member processes that are killed and restarted on the same port (integration tests,
// the chaos harness, the benchmarks).

import { createServer } from 'node:net';

const STABLE_PORT_FIRST = 10_000;
/** Linux's ephemeral range starts at 32768. */
const STABLE_PORTS = 22_000;
/** Slices of the range, one per concurrent test worker (vitest's pool ids are small integers). */
const WORKER_SLICES = 8;

/** Every port this process handed out: never handed out twice, though its member may be down. */
const handedOut = new Set<number>();

/**
 * A free port below Linux's ephemeral range (32768+), so no outbound connection can take it while
 * its member is down between a kill and a restart (a port from listen(0) can be). A probe only
 * shows the port free now: a cluster's six ports are drawn before any member binds one, so the
 * same port could come out twice (a member then died with EADDRINUSE and its cluster had no
 * leader: seen once, in a full run with both cores busy). So a process never hands a port out
 * twice, and parallel test workers draw from slices of their own.
 */
export async function stablePort(taken: Set<number> = new Set()): Promise<number> {
  const slice = Math.floor(STABLE_PORTS / WORKER_SLICES);
  const worker = Number(process.env.VITEST_POOL_ID ?? 0) % WORKER_SLICES;
  const first = STABLE_PORT_FIRST + worker * slice;
  for (;;) {
    const port = first + Math.floor(Math.random() * slice);
    if (taken.has(port) || handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      handedOut.add(port);
      return port;
    }
  }
}
