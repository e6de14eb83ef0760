import { defineConfig } from 'vitest/config';

// Two groups, run one after the other. The unit, storage, transport and simulator files share the
// machine's two cores. The integration files start real member processes, whose elections and
// timeouts must not starve behind the simulator, so they run afterwards, one file at a time.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'test/fault/*.test.ts'],
          pool: 'threads',
          maxWorkers: 2,
          testTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          // The chaos pass (test/fault/*.test.ts) starts real processes too; its checkers' own tests are unit tests.
          include: ['test/integration/**/*.test.ts', 'test/fault/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
