// Reconnect delays: exponential and bounded, so a dead peer costs a connection attempt every few
// seconds at most, while a peer that merely restarted is back within milliseconds.

/** Spreads reconnects of several members to one restarted peer, so they do not arrive in lockstep. */
const JITTER = 0.2;

export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const jittered = base * (1 - JITTER + 2 * JITTER * Math.random());
    return Math.round(Math.min(this.maxMs, jittered));
  }

  reset(): void {
    this.failures = 0;
  }
}
