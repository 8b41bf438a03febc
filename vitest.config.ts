import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Three tiers, each a vitest project (`npm run test:unit`, `test:redis`, `test:topology`; `npm test`
 * runs all three):
 * - unit: no process is started (test/support/unit-setup.ts refuses): pure code, and the service's
 *   app through `inject()`.
 * - redis: one redis-server per vitest worker, started by the project's globalSetup
 *   (test/support/redis-global-setup.ts); a file takes its worker's with `workerRedis()`.
 * - topology: everything else (Cluster, Sentinel, TLS, nginx, faults, soak, child service
 *   processes), and tests whose bounds are tight enough that they must have the CPU to
 *   themselves. It is also the catch-all: a test file in no tier's directory runs here.
 */
const UNIT = 'test/unit/**/*.test.ts';
const REDIS = 'test/redis/**/*.test.ts';
const CORES = availableParallelism();

export default defineConfig({
  test: {
    // .ci/run forbids skipped tests: every suite runs there, or the run fails.
    ...(process.env.RATELIMITER_TESTS_NO_SKIPS === '1'
      ? { reporters: ['default', './test/support/no-skips-reporter.ts'] }
      : {}),
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
          maxWorkers: CORES,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'redis',
          include: [REDIS],
          globalSetup: ['test/support/redis-global-setup.ts'],
          // Each file closes what it opens; its worker's redis-server outlives it anyway.
          isolate: false,
          maxWorkers: CORES,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'topology',
          include: ['test/**/*.test.ts'],
          exclude: [UNIT, REDIS],
          // After the other tiers, and at most one file per two cores: failovers, bursts at the
          // default 50 ms store timeout (hot-path) and other timeouts are timed by the machine's
          // clock, and two such files on one core slow each other past their bounds (a cluster
          // failover took 15 s instead of 3).
          maxWorkers: Math.max(1, Math.floor(CORES / 2)),
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
