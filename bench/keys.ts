// Keys, values and bulk loading shared by the workloads.

import { randomBytes, randomInt } from 'node:crypto';
import type { BenchClient } from './client.js';

export const KEY_SPACE = 10_000;
export const VALUE_BYTES = 256;

export function keyName(prefix: string, index: number): string {
  return `${prefix}${String(index).padStart(6, '0')}`;
}

export function randomKey(prefix: string, keySpace = KEY_SPACE): string {
  return keyName(prefix, randomInt(keySpace));
}

/** Random bytes, so that nothing along the way can make the value smaller than it is. */
export function randomValue(bytes = VALUE_BYTES): Buffer {
  return randomBytes(bytes);
}

/**
 * Puts keys prefix000000..prefix(count-1), `concurrency` at a time over the client's channels: the
 * same `value` for every key, or a fresh one from `value()` for each.
 */
export async function loadKeys(
  client: BenchClient,
  prefix: string,
  count: number,
  value: Buffer | (() => Buffer),
  concurrency = 128,
  putTimeoutMs?: number,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < count && !failed) {
      const index = next++;
      try {
        await client.next().put(keyName(prefix, index), typeof value === 'function' ? value() : value, putTimeoutMs);
      } catch (error) {
        failed = true; // the other workers stop at their next key
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
