import { afterAll } from 'vitest';
import { ManualClock, RedisStore } from '../../src/index.js';
import { ObservedLimiter, describeConcurrencyMiddleware } from '../support/concurrency-cases.js';
import { workerRedis } from '../support/worker-redis.js';

/** The middleware's concurrency cases (test/support/concurrency-cases.ts) on a real Redis. */
const redis = workerRedis();
const limiters: ObservedLimiter[] = [];

afterAll(async () => {
  await Promise.all(limiters.splice(0).map((limiter) => limiter.close()));
});

describeConcurrencyMiddleware('Redis', () => {
  // The store's time is the test's, so a lease expires only when the test moves the clock on.
  const clock = new ManualClock();
  const limiter = new ObservedLimiter({ store: new RedisStore({ url: redis.url, clock }) });
  limiters.push(limiter);
  return { limiter, clock };
});
