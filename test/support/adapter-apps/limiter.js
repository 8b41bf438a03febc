// The limiter every fixture app uses: a RedisStore on REDIS_URL, imported as a user would.
import process from 'node:process';
import { RateLimiter, RedisStore } from 'ratelimiter-service';

export const LIMIT = Number(process.env.LIMIT ?? '50');
export const WINDOW_MS = 60_000;
/** Prepended to every route's prefix: apps of different frameworks on one Redis never share counters. */
export const PREFIX = process.env.PREFIX ?? '';

export function redisLimiter() {
  // Generous timeout: two cores shared by several test processes must not turn load into 503s.
  return new RateLimiter({ store: new RedisStore({ url: process.env.REDIS_URL, timeoutMs: 2000 }) });
}

/** Print the line the test waits for, and stop on SIGTERM. */
export function announce(url, close) {
  process.stdout.write(`listening ${url}\n`);
  process.once('SIGTERM', () => {
    Promise.resolve(close()).finally(() => process.exit(0));
  });
}
