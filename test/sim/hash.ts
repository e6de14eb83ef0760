// A 53-bit non-cryptographic hash (cyrb53 construction) for fingerprinting entries and chaining
// the simulated state machine. Collisions are astronomically unlikely at simulator scale.

export function hashBytes(bytes: Uint8Array, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    h1 = Math.imul(h1 ^ byte, 2654435761);
    h2 = Math.imul(h2 ^ byte, 1597334677);
  }
  return finish(h1, h2);
}

/** Chains a 53-bit value with more numbers: the state machine's running fingerprint. */
export function hashChain(previous: number, ...values: number[]): number {
  let h1 = 0xdeadbeef ^ (previous >>> 0);
  let h2 = 0x41c6ce57 ^ Math.floor(previous / 0x1_0000_0000);
  for (const value of values) {
    h1 = Math.imul(h1 ^ (value >>> 0), 2654435761);
    h2 = Math.imul(h2 ^ Math.floor(value / 0x1_0000_0000), 1597334677);
    h2 = Math.imul(h2 ^ (value >>> 0), 2246822507);
  }
  return finish(h1, h2);
}

function finish(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
