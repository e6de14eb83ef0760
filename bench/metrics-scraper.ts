// `--scrape-metrics s`: a Prometheus-like scraper on every member of a cluster while it serves the
// workloads, GET /metrics on each client port every period, the body read and dropped, so that a
// run shows what being watched costs each system (etcd serves /metrics on its client port too).

const SCRAPE_TIMEOUT_MS = 5000;

export class MetricsScraper {
  private timer: NodeJS.Timeout | null = null;
  /** Scrapes answered, and failed (a member down, a timeout): reported, not fatal. */
  scrapes = 0;
  failures = 0;

  constructor(
    private readonly endpoints: () => readonly string[],
    private readonly periodMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      for (const endpoint of this.endpoints()) void this.scrape(endpoint);
    }, this.periodMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async scrape(endpoint: string): Promise<void> {
    try {
      const response = await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      await response.arrayBuffer();
      if (response.ok) this.scrapes++;
      else this.failures++;
    } catch {
      this.failures++;
    }
  }
}
