import { afterAll, beforeAll } from 'vitest';
import { ManualClock, MemoryStore, RateLimiter, RedisStore } from '../../src/index.js';
import { workerRedis } from './worker-redis.js';

/**
 * The two halves of a twin test: a MemoryStore (the TypeScript half) and a RedisStore on the
 * worker's redis-server (the Lua half), both reading one manual clock, so the script's time is
 * driven explicitly. Registers the file's beforeAll/afterAll; `limiters()` gives [memory, redis].
 */
export function twinStores(): { clock: ManualClock; limiters: () => readonly [RateLimiter, RateLimiter] } {
  const server = workerRedis();
  const clock = new ManualClock();
  let redis: RedisStore;
  let memory: MemoryStore;
  beforeAll(() => {
    redis = new RedisStore({ url: server.url, clock, timeoutMs: 5000 });
    memory = new MemoryStore({ clock, sweepIntervalMs: 0 });
  });
  afterAll(async () => {
    await redis.close();
    await memory.close();
  });
  return {
    clock,
    limiters: () => [new RateLimiter({ store: memory }), new RateLimiter({ store: redis })] as const,
  };
}
