import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['server/**/*.test.ts', 'simulator/**/*.test.ts', 'chaos/**/*.test.ts', 'test/**/*.test.ts'],
    // PostgreSQL and Redis for the suites: found, or started (embedded PostgreSQL, redis-server).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
