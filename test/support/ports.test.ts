import { describe, expect, it } from 'vitest';
import { stablePort } from './ports.js';

describe('stablePort', () => {
  it('never hands out the same port twice in one process, though each probe leaves it free', async () => {
    // Drawn before any is bound, as a cluster's ports are: without the memory of what was handed
    // out, 1,000 draws from the range repeat a port almost surely.
    const ports = [];
    for (let i = 0; i < 1000; i++) ports.push(await stablePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) expect(port).toBeLessThan(32_768);
  });
});
