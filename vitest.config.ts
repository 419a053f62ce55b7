import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['proxy/test/**/*.test.ts', 'harness/test/**/*.test.ts', 'reports/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Integration tests run real SIPp processes; two cores, so limit parallel files.
    maxWorkers: 2,
    pool: 'forks',
  },
});
