/**
 * The concurrency sweep: one RedisStore with its default options, as a user constructs it, behind
 * a RateLimiter in `open` mode (the service's default), at rising numbers of checks in flight. On
 * a healthy private redis-server every check should be answered by Redis: any error or
 * `degraded: true` decision here is this process failing itself.
 */
import { RateLimiter, RedisStore } from '../src/index.js';
import { RedisServer } from '../support/redis-server.js';
import { burst, closedLoop } from './harness.js';
import type { LoadResult, Operation } from './harness.js';
import type { Knobs } from './knobs.js';
import { formatCounts, formatNumber, printTable } from './stats.js';
import type { Targets } from './targets.js';

const KEYS = 100_000;

/** Checks on random keys (limit 100/min, so nearly all admitted), counting degraded decisions. */
function checking(limiter: RateLimiter): { op: Operation; degraded: () => number } {
  let degraded = 0;
  const op: Operation = async () => {
    const key = `sweep:${Math.floor(Math.random() * KEYS)}`;
    const decision = await limiter.check({ key, limit: 100, window: 60 });
    if (decision.degraded === true) degraded++;
    return decision.allowed ? 1 : 0;
  };
  return { op, degraded: () => degraded };
}

function openLimiter(url: string): RateLimiter {
  return new RateLimiter({ store: new RedisStore({ url }), failurePolicy: { mode: 'open' } });
}

export async function benchSweep(knobs: Knobs, targets: Targets): Promise<void> {
  const server = await RedisServer.start();
  const warm = openLimiter(server.url);
  const rows: string[][] = [];
  let failures = 0;
  const row = (name: string, inFlight: number, load: LoadResult, degraded: number) => {
    const errors = [...load.errors.values()].reduce((total, count) => total + count, 0);
    failures += errors + degraded;
    rows.push([
      name,
      formatNumber(inFlight),
      formatNumber(load.answered + errors),
      formatNumber(load.answered / (load.elapsedMs / 1000)),
      formatNumber(load.p50Ms, 1),
      formatNumber(load.p99Ms, 1),
      formatCounts(load.errors),
      formatNumber(degraded),
    ]);
  };
  try {
    const warmChecks = checking(warm);
    // Connected, script loaded: what a store that has served traffic looks like.
    await warmChecks.op(0);
    for (const level of knobs.sweepLevels) {
      const cold = openLimiter(server.url);
      const coldChecks = checking(cold);
      row('burst on a new store', level, await burst(coldChecks.op, level), coldChecks.degraded());
      await cold.close();
      let before = warmChecks.degraded();
      row(
        'burst on the warm store',
        level,
        await burst(warmChecks.op, level),
        warmChecks.degraded() - before,
      );
      before = warmChecks.degraded();
      const loop = await closedLoop(warmChecks.op, { inFlight: level, durationMs: knobs.sweepDurationMs });
      row(`closed loop, ${knobs.sweepDurationMs} ms`, level, loop, warmChecks.degraded() - before);
    }
  } finally {
    await warm.close();
    await server.stop();
  }
  printTable(
    "Concurrency sweep: one RedisStore (default options), RateLimiter in 'open' mode, random keys",
    [
      { title: 'case' },
      { title: 'in flight', align: 'right' },
      { title: 'checks', align: 'right' },
      { title: 'answered/s', align: 'right' },
      { title: 'p50 ms', align: 'right' },
      { title: 'p99 ms', align: 'right' },
      { title: 'errors by code', align: 'right' },
      { title: 'degraded', align: 'right' },
    ],
    rows,
  );
  targets.exactly(
    `sweep up to ${formatNumber(Math.max(...knobs.sweepLevels))} in flight: errors + degraded decisions`,
    0,
    failures,
  );
}
