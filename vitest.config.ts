import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'threads',
    // The machine has two cores; the simulator seeds are split into files so both stay busy.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
