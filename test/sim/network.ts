// A simulated network between members: every packet gets a random delay (which also reorders),
// and may be lost or duplicated; links can be cut in one direction or both. Packets in flight are
// bounded; past the bound new packets are dropped and counted, as a real transport would.

import type { Message } from '../../src/raft/index.js';
import type { SeededRandom } from '../../src/raft/index.js';

export interface NetworkOptions {
  delayMinMs: number;
  delayMaxMs: number;
  lossProbability: number;
  duplicateProbability: number;
  packetsInFlightMax: number;
}

export interface Packet {
  readonly from: number;
  readonly to: number;
  readonly message: Message;
}

export class SimNetwork {
  options: NetworkOptions;
  private readonly random: SeededRandom;
  /** Cut links, as "from->to". */
  private readonly cut = new Set<string>();
  packetsInFlight = 0;
  dropped = 0;
  delivered = 0;

  constructor(options: NetworkOptions, random: SeededRandom) {
    this.options = { ...options };
    this.random = random;
  }

  isCut(from: number, to: number): boolean {
    return this.cut.size > 0 && this.cut.has(`${from}->${to}`);
  }

  cutOneWay(from: number, to: number): void {
    this.cut.add(`${from}->${to}`);
  }

  cutBothWays(a: number, b: number): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Splits members into two sides that cannot talk to each other. */
  partition(sideA: readonly number[], sideB: readonly number[]): void {
    for (const a of sideA) for (const b of sideB) this.cutBothWays(a, b);
  }

  isolate(member: number, others: readonly number[]): void {
    for (const other of others) if (other !== member) this.cutBothWays(member, other);
  }

  healLinks(): void {
    this.cut.clear();
  }

  describeCuts(): string {
    return [...this.cut].sort().join(' ');
  }

  /**
   * Decides the fate of a packet: the delays (ms from now) of each copy to deliver; none when lost.
   */
  route(packet: Packet): number[] {
    const options = this.options;
    if (this.isCut(packet.from, packet.to) || this.packetsInFlight >= options.packetsInFlightMax) return [];
    if (options.lossProbability > 0 && this.random.chance(options.lossProbability)) return [];
    const delays = [this.delayMs()];
    if (options.duplicateProbability > 0 && this.random.chance(options.duplicateProbability)) delays.push(this.delayMs());
    this.packetsInFlight += delays.length;
    return delays;
  }

  /**
   * The fate of a frame on a stream (a snapshot chunk, or its acknowledgement when `lossy` is
   * false): its delay, or null when the link is cut or the frame is lost, either of which breaks
   * the stream. Stream frames are never duplicated (the stream orders and deduplicates) and do not
   * count against the packet bound: each stream has one chunk in flight.
   */
  streamFrameDelayMs(from: number, to: number, lossy = true): number | null {
    if (this.isCut(from, to)) return null;
    if (lossy && this.options.lossProbability > 0 && this.random.chance(this.options.lossProbability)) return null;
    return this.delayMs();
  }

  private delayMs(): number {
    return this.random.intBetween(this.options.delayMinMs, this.options.delayMaxMs);
  }
}
