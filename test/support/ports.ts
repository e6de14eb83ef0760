// Ports for member processes that are killed and restarted on the same port (integration tests,
// the chaos harness, the benchmarks).

import { createServer } from 'node:net';

/**
 * A free port below Linux's ephemeral range (32768+), so no outbound connection can take it while
 * its member is down between a kill and a restart (a port from listen(0) can be).
 */
export async function stablePort(taken: Set<number> = new Set()): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}
