/** Bytes per key in Redis (MEMORY USAGE, exact) for each algorithm, with the counter full. */
import { Redis } from 'ioredis';
import { ALGORITHM_NAMES, RateLimiter, RedisStore } from '../src/index.js';
import { RedisServer } from '../support/redis-server.js';

/** The `keys` section: a throwaway redis-server, every algorithm's counter filled, its bytes. */
export async function benchMemoryPerKey(): Promise<void> {
  const server = await RedisServer.start();
  // Filling a counter sends up to 10,000 checks at once: a generous timeout, this is not a speed test.
  const limiter = new RateLimiter({ store: new RedisStore({ url: server.url, timeoutMs: 10_000 }) });
  const client = new Redis(server.url);
  try {
    await printMemoryPerKey(limiter, client);
  } finally {
    client.disconnect();
    await limiter.close();
    await server.stop();
  }
}

export async function printMemoryPerKey(limiter: RateLimiter, client: Redis): Promise<void> {
  console.log(
    '\nRedis memory per counter (MEMORY USAGE ... SAMPLES 0, all keys of the counter, counter full)',
  );
  console.log('| algorithm | limit 100 | limit 10,000 |');
  console.log('|---|---:|---:|');
  for (const algorithm of ALGORITHM_NAMES) {
    const bytes: number[] = [];
    for (const limit of [100, 10_000]) {
      const key = `bench:memory:${algorithm}:${limit}`;
      // One unit per check, as real traffic spends them (the log keeps one sorted-set member per check).
      await Promise.all(
        Array.from({ length: limit }, () => limiter.check({ key, limit, window: '1h', algorithm })),
      );
      const names = await client.keys(`ratelimit:{${key}}:*`);
      const usage = await Promise.all(names.map((name) => client.memory('USAGE', name, 'SAMPLES', 0)));
      bytes.push(usage.reduce<number>((total, value) => total + (value ?? 0), 0));
    }
    console.log(
      `| ${algorithm} | ${bytes[0]?.toLocaleString('en-US')} B | ${bytes[1]?.toLocaleString('en-US')} B |`,
    );
  }
}
