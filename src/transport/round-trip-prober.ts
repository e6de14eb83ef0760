// etcd_network_peer_round_trip_time_seconds: how long a peer takes to answer, measured as etcd
// measures it, by a prober beside the message stream rather than by timing Raft messages. Every
// PROBE_INTERVAL_MS each peer link sends one Identify call (a few bytes each way, answered by the
// peer's transport without touching its Raft node) on the same gRPC channel as its messages, and
// the time from the call to its answer is one observation: network, both event loops and HTTP/2
// framing included, as in etcd's /raft/probing request. A probe that fails or times out records
// nothing (the send failures and active-peers gauge tell of a peer that is down). Cost: one small
// unary call per peer every few seconds.

import { Metadata, type Client } from '@grpc/grpc-js';
import { EMPTY, identifyMethod } from './service.js';

/** etcd probes every few seconds (its prober's interval is under its 5 s connection read timeout). */
export const PROBE_INTERVAL_MS = 5_000;
/** A probe slower than this is abandoned; the next one starts on time. */
const PROBE_TIMEOUT_MS = 4_000;

export class RoundTripProber {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;

  /** `client()`: the peer's channel now (it changes on redial); `observe`: a round trip in seconds. */
  constructor(
    private readonly client: () => Client,
    private readonly observe: (seconds: number) => void,
    private readonly intervalMs = PROBE_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.probe(), this.intervalMs);
    // A probe timer must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One probe now, unless the last one is still out. */
  probe(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    const { path, requestSerialize, responseDeserialize } = identifyMethod;
    const startMs = performance.now();
    this.client().makeUnaryRequest(path, requestSerialize, responseDeserialize, EMPTY, new Metadata(), { deadline: Date.now() + PROBE_TIMEOUT_MS }, (error) => {
      this.inFlight = false;
      if (error === null && this.timer !== null) this.observe((performance.now() - startMs) / 1000);
    });
  }
}
