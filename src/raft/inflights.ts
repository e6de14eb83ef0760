// A bounded window of append messages sent to one follower and not yet acknowledged. The leader
// stops sending to a follower whose window is full, so a slow follower cannot grow its queue.

import { assert } from './errors.js';

export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private start = 0;
  private bytes = 0;
  readonly countMax: number;
  readonly bytesMax: number;

  constructor(countMax: number, bytesMax: number) {
    assert(countMax > 0, 'inflight count max must be positive');
    this.countMax = countMax;
    this.bytesMax = bytesMax;
  }

  get count(): number {
    return this.indexes.length - this.start;
  }

  full(): boolean {
    return this.count >= this.countMax || (this.bytesMax > 0 && this.bytes >= this.bytesMax);
  }

  /** Records a message whose last entry is `index`; indexes must increase. */
  add(index: number, bytes: number): void {
    assert(!this.full(), 'cannot add to a full inflights window');
    const last = this.count > 0 ? this.indexes[this.indexes.length - 1] : -1;
    assert(index > last, () => `inflight index ${index} not above ${last}`);
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= `index` (the follower acknowledged it). */
  freeLE(index: number): void {
    while (this.start < this.indexes.length && this.indexes[this.start] <= index) {
      this.bytes -= this.sizes[this.start];
      this.start++;
    }
    if (this.start > 64 && this.start * 2 > this.indexes.length) {
      this.indexes.splice(0, this.start);
      this.sizes.splice(0, this.start);
      this.start = 0;
    }
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.start = 0;
    this.bytes = 0;
  }
}
