// Logging for the transport: a pino-compatible logger and a throttle, so a dead peer or a flood of
// drops costs one line every few seconds instead of one per message.

export interface TransportLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export const silentLogger: TransportLogger = {
  debug() {},
  info() {},
  warn() {},
};

const DEFAULT_INTERVAL_MS = 5_000;
/** Keys come partly from the network (a refused stream's claimed sender); never let them pile up. */
const KEYS_MAX = 1024;

/** Lets one warning per key through per interval and reports how many it held back meanwhile. */
export class ThrottledWarnings {
  private readonly lastLoggedAt = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    private readonly logger: TransportLogger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  warn(key: string, fields: object, message: string): void {
    const now = Date.now();
    const last = this.lastLoggedAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return;
    }
    const held = this.suppressed.get(key) ?? 0;
    if (this.lastLoggedAt.size >= KEYS_MAX) {
      this.lastLoggedAt.clear();
      this.suppressed.clear();
    }
    this.lastLoggedAt.set(key, now);
    this.suppressed.delete(key);
    this.logger.warn(held > 0 ? { ...fields, suppressed: held } : fields, message);
  }

  /** Forget a key (e.g. a peer came back), so its next warning is logged at once. */
  reset(key: string): void {
    this.lastLoggedAt.delete(key);
    this.suppressed.delete(key);
  }
}
