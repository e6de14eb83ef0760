// Waiting with a bound: every wait in the harness goes through one of these, so a run always ends.

/**
 * How long a cluster idles after a load, every member having applied it, before its RSS is read:
 * long enough for each runtime to give back what the load left behind (Go's background scavenger
 * for etcd, the binary's idle heap compaction for raftkv, which waits for 3 idle seconds), so both
 * are measured as an operator sees an idle member, not mid-collection.
 */
export const RSS_SETTLE_MS = 10_000;

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

/** Rejects with `what` when `promise` has not settled within `timeoutMs`; the promise itself keeps running. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  // A late rejection after the timeout must not surface as an unhandled rejection.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${Math.round(timeoutMs)} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `attempt` every `intervalMs` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function pollUntil<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs: number, intervalMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    const started = performance.now();
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms${lastError === null ? '' : ` (last error: ${errorMessage(lastError)})`}`);
    }
    await sleep(Math.max(0, intervalMs - (performance.now() - started)));
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
