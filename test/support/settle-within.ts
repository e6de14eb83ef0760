// Waiting for something that must happen, with a deadline that only a failure reaches: the tests
// assert that it happens, never how soon, so the deadline is generous and its timer is cleared as
// soon as the awaited promise settles (a pending 30 s timer would outlive the test).

/** `promise`'s value, or 'timed out' if it has not settled after `timeoutMs`. */
export async function settleWithin<T>(promise: Promise<T>, timeoutMs: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), timeoutMs)));
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
