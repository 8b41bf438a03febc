import { defineConfig } from 'vitest/config';

/**
 * Three tiers, each a vitest project (`npm run test:unit`, `test:redis`, `test:topology`; `npm test`
 * runs all three):
 * - unit: no process is started: pure code, and the HTTP app through `buildApp().inject()`.
 * - redis: one redis-server per vitest worker, started by the project's globalSetup
 *   (test/support/redis-global-setup.ts); a file takes its worker's with `workerRedis()`.
 * - topology: everything else (Cluster, Sentinel, TLS, nginx, faults, soak, child service
 *   processes). It is also the catch-all: a test file in no tier's directory runs here.
 */
const UNIT = 'test/unit/**/*.test.ts';
const REDIS = 'test/redis/**/*.test.ts';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [UNIT],
          setupFiles: ['test/support/unit-setup.ts'],
          // Nothing outlives a unit test file, so one worker serves many files (no fork per file).
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'redis',
          include: [REDIS],
          globalSetup: ['test/support/redis-global-setup.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'topology', include: ['test/**/*.test.ts'], exclude: [UNIT, REDIS] },
      },
    ],
  },
});
