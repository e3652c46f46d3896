import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real keychain, real files and real servers: keep test files from fighting over 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './build/summary-reporter.ts'],
  },
});
