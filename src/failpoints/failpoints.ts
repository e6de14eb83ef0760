// Faults a test harness can switch on in a running member, in the spirit of etcd's gofail: a slow
// disk, a deliberate correctness bug the checkers must catch, a rerouted peer link. They are off
// unless the process was started with RAFTKV_FAILPOINTS (initial values, JSON) or
// RAFTKV_FAILPOINTS_ADDR (a loopback control endpoint, see src/cli/failpoint-server.ts); a member
// started without either holds the empty set, and every check below is a map lookup.
//
// This room is a leaf: any room may take a Failpoints instance passed in; none reaches for a global.

export const Failpoint = {
  /** Every WAL save first waits this many milliseconds: a slow disk or a stalled fsync. */
  WalSaveDelayMs: 'wal-save-delay-ms',
  /** Linearizable reads skip ReadIndex and read local state: a bug the linearizability checker must catch. */
  UnsafeLocalReads: 'unsafe-local-reads',
  /**
   * Dial peers elsewhere than their advertised URLs: "advertised=dial,advertised=dial". The fault
   * harness puts a TCP proxy on every directed peer link this way. Read when a peer is added.
   */
  PeerDialMap: 'peer-dial-map',
  /**
   * Propose these entries unchecked, once, at the member's next tick, then clear the failpoint: a
   * JSON array of { "type": "normal" | "conf-change", "data": base64 }. It commits what the request
   * checks would refuse, to show that applying never stops a member (test/integration/hostile-commits).
   */
  ProposeEntries: 'propose-entries',
  /**
   * Kill the process (SIGKILL, as kill -9) during a snapshot install, right after the named step:
   * "loaded" (the staged copy is loaded aside, not yet active) or "switched" (kv.current durably
   * names the staged copy; the old database is not yet removed). Shows a crash mid-install leaves
   * the old store or the new one.
   */
  SnapshotInstallCrashAfter: 'snapshot-install-crash-after',
} as const;
export type Failpoint = (typeof Failpoint)[keyof typeof Failpoint];

const KNOWN = new Set<string>(Object.values(Failpoint));

export class UnknownFailpointError extends Error {
  readonly code = 'UNKNOWN_FAILPOINT';
  constructor(readonly failpoint: string) {
    super(`unknown failpoint "${failpoint}"; known: ${[...KNOWN].join(', ')}`);
    this.name = 'UnknownFailpointError';
  }
}

export class Failpoints {
  private readonly values = new Map<Failpoint, string>();

  /** Initial values from RAFTKV_FAILPOINTS' JSON object; throws on an unknown name. */
  static fromJson(json: string | undefined): Failpoints {
    const failpoints = new Failpoints();
    if (json === undefined || json === '') return failpoints;
    for (const [name, value] of Object.entries(JSON.parse(json) as Record<string, unknown>)) failpoints.set(name, String(value));
    return failpoints;
  }

  set(name: string, value: string): void {
    if (!KNOWN.has(name)) throw new UnknownFailpointError(name);
    this.values.set(name as Failpoint, value);
  }

  clear(name: string): void {
    if (!KNOWN.has(name)) throw new UnknownFailpointError(name);
    this.values.delete(name as Failpoint);
  }

  get(name: Failpoint): string | undefined {
    return this.values.get(name);
  }

  enabled(name: Failpoint): boolean {
    const value = this.values.get(name);
    return value !== undefined && value !== 'false' && value !== '0';
  }

  /** A numeric failpoint's value, 0 when off or not a number. */
  number(name: Failpoint): number {
    const value = Number(this.values.get(name) ?? 0);
    return Number.isFinite(value) && value > 0 ? value : 0;
  }

  /** `advertised=dial,…` as a map. */
  map(name: Failpoint): Map<string, string> {
    const entries = (this.values.get(name) ?? '').split(',').filter((pair) => pair.includes('='));
    return new Map(entries.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  }

  /** The entries a ProposeEntries failpoint holds, clearing it; none when it is not set. */
  takeEntriesToPropose(): Array<{ type: 'normal' | 'conf-change'; data: Uint8Array }> {
    const value = this.values.get(Failpoint.ProposeEntries);
    if (value === undefined) return [];
    this.values.delete(Failpoint.ProposeEntries);
    const entries = JSON.parse(value) as Array<{ type: 'normal' | 'conf-change'; data: string }>;
    return entries.map((entry) => ({ type: entry.type, data: Buffer.from(entry.data, 'base64') }));
  }

  list(): Record<string, string> {
    return Object.fromEntries(this.values);
  }
}
