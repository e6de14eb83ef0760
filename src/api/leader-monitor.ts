// etcd's "require leader" for streams: a client that sets the `hasleader` metadata on a watch or
// keep-alive stream wants it ended, with `etcdserver: no leader`, when its member has no leader,
// so it can move to a member that has one. Checked once per election timeout, as etcd does.

import type { Metadata } from '@grpc/grpc-js';

export class LeaderMonitor {
  private readonly onLost = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly hasLeader: () => boolean,
    private readonly intervalMs: number,
  ) {}

  requiresLeader(metadata: Metadata): boolean {
    return metadata.get('hasleader').some((value) => String(value) === 'true');
  }

  /**
   * Calls `lost` once if the member is found without a leader. Returns how to stop watching, or
   * null (after calling `lost`) when there is no leader already.
   */
  watch(lost: () => void): (() => void) | null {
    if (!this.hasLeader()) {
      lost();
      return null;
    }
    this.onLost.add(lost);
    this.timer ??= setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
    return () => {
      this.onLost.delete(lost);
      if (this.onLost.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private check(): void {
    if (this.hasLeader()) return;
    const lost = [...this.onLost];
    this.onLost.clear();
    for (const callback of lost) callback();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.onLost.clear();
  }
}
