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

describeConcurrencyMiddleware('Redis', async () => {
  // The store's time is the test's, so a lease expires only when the test moves the clock on. A
  // connection made first, and a timeout no busy machine reaches: this is about leases, not speed.
  const clock = new ManualClock();
  const store = new RedisStore({ url: redis.url, clock, timeoutMs: 1000 });
  await store.connection.connected();
  const limiter = new ObservedLimiter({ store });
  limiters.push(limiter);
  return { limiter, clock };
});
