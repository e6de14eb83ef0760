// The core has no randomness of its own: its caller hands it a source. `SeededRandom` is a small,
// fast, deterministic one (xoshiro128** seeded through SplitMix32) that callers may use.

export interface RandomSource {
  /** A uniformly distributed integer in [0, bound). */
  intBelow(bound: number): number;
}

export class SeededRandom implements RandomSource {
  private readonly state = new Uint32Array(4);

  constructor(seed: number) {
    let mix = seed >>> 0;
    let high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    for (let i = 0; i < 4; i++) {
      mix = (mix + 0x9e3779b9 + high) >>> 0;
      high = 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.state[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.state.every((word) => word === 0)) this.state[0] = 1;
  }

  /** The next 32 random bits as an unsigned number. */
  nextUint32(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  intBelow(bound: number): number {
    if (!(bound > 0)) throw new RangeError(`bound must be positive, got ${bound}`);
    return Math.floor(this.nextFloat() * bound);
  }

  /** An integer in [low, high]. */
  intBetween(low: number, high: number): number {
    return low + this.intBelow(high - low + 1);
  }

  chance(probability: number): boolean {
    return this.nextFloat() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[this.intBelow(items.length)] as T;
  }
}

function rotl(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}
