import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, RateLimiter, RedisStore } from '../../src/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { workerRedis } from '../support/worker-redis.js';

/** Denials answered from memory (RedisStore `denyCache`): exact decisions, dropped on reset and refund. */
const server = workerRedis();
let admin: Redis;
const opened: RateLimiter[] = [];

beforeAll(() => {
  admin = new Redis(server.url);
});

afterAll(async () => {
  await Promise.all(opened.map((limiter) => limiter.close()));
  admin.disconnect();
});

function limiterWithCache(options: { clock?: ManualClock; maxEntries?: number } = {}): {
  limiter: RateLimiter;
  store: RedisStore;
} {
  const store = new RedisStore({
    url: server.url,
    timeoutMs: 2000,
    denyCache: options.maxEntries === undefined ? true : { maxEntries: options.maxEntries },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const limiter = new RateLimiter({ store });
  opened.push(limiter);
  return { limiter, store };
}

async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  return (
    Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0) +
    Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0)
  );
}

/**
 * Until every store of this file listens for invalidations: a store that subscribes clears its
 * denials (it may have missed messages), which would hide what a test looks for.
 */
async function allSubscribed(): Promise<void> {
  await eventually(
    async () => Number((await admin.pubsub('NUMSUB', 'ratelimit:invalidations'))[1]) >= opened.length,
  );
}

/** Poll until `probe` holds (pub/sub is asynchronous); fails after a second. */
async function eventually(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 1000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met within 1 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('deny cache', () => {
  it('answers a repeated denial without Redis, with the exact retry, until it lapses', async () => {
    const clock = new ManualClock();
    const { limiter, store } = limiterWithCache({ clock });
    await allSubscribed();
    const check = { key: `deny:${Date.now()}`, limit: 2, window: '10s' };
    await limiter.check(check);
    clock.advanceMs(4000);
    await limiter.check(check);
    expect(await limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 6000 });
    const calls = await scriptCalls();
    for (let i = 1; i <= 5; i++) {
      clock.advanceMs(1000);
      expect(await limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 6000 - i * 1000 });
    }
    expect(await scriptCalls()).toBe(calls);
    expect(store.stats().denyCacheHits).toBe(5);
    // A larger cost is denied too, but its retry is Redis's to say; so is a changed limit.
    expect(await limiter.check({ ...check, cost: 2 })).toMatchObject({ allowed: false, retryAfterMs: 5000 });
    expect(await limiter.peek({ ...check, limit: 3 })).toMatchObject({ allowed: true, count: 2 });
    clock.advanceMs(1000);
    expect(await limiter.check(check)).toMatchObject({ allowed: true, count: 2 });
    expect(await scriptCalls()).toBe(calls + 3);
  });

  it('forgets a denial on every node when another node resets or refunds the counter', async () => {
    const a = limiterWithCache();
    const b = limiterWithCache();
    const check = { key: `deny:shared:${Date.now()}`, limit: 1, window: '1h' };
    await allSubscribed();
    expect((await a.limiter.check(check)).allowed).toBe(true);
    expect((await a.limiter.check(check)).allowed).toBe(false);
    expect((await a.limiter.check(check)).allowed).toBe(false);
    expect(a.store.stats().denyCacheHits).toBe(1);

    await b.limiter.reset(check);
    await eventually(async () => (await a.limiter.check(check)).allowed);
    expect((await a.limiter.check(check)).allowed).toBe(false);

    await b.limiter.refund({ ...check, cost: 1 });
    await eventually(async () => (await a.limiter.check(check)).allowed);
  });

  it('forgets a denial when a node without the cache resets or refunds (a rolling enable, `reset --redis`)', async () => {
    const a = limiterWithCache();
    // Not in `opened`: it never subscribes, so allSubscribed() must not wait for it.
    const plain = new RateLimiter({ store: new RedisStore({ url: server.url, timeoutMs: 2000 }) });
    try {
      const check = { key: `deny:plain:${Date.now()}`, limit: 1, window: '1h' };
      await allSubscribed();
      expect((await a.limiter.check(check)).allowed).toBe(true);
      expect((await a.limiter.check(check)).allowed).toBe(false);
      expect((await a.limiter.check(check)).allowed).toBe(false);
      expect(a.store.stats().denyCacheHits).toBe(1);

      await plain.reset(check);
      await eventually(async () => (await a.limiter.check(check)).allowed);
      expect((await a.limiter.check(check)).allowed).toBe(false);

      await plain.refund({ ...check, cost: 1 });
      await eventually(async () => (await a.limiter.check(check)).allowed);
    } finally {
      await plain.close();
    }
  });

  it('keeps limits exact across nodes under a burst', async () => {
    const nodes = [limiterWithCache(), limiterWithCache()];
    await allSubscribed();
    const key = `deny:burst:${Date.now()}`;
    const decisions = await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        (nodes[i % 2]?.limiter as RateLimiter).check({ key, limit: 100, window: '1h' }),
      ),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    const again = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (nodes[i % 2]?.limiter as RateLimiter).check({ key, limit: 100, window: '1h' }),
      ),
    );
    expect(again.every((d) => !d.allowed)).toBe(true);
    expect(nodes.every(({ store }) => store.stats().denyCacheHits > 0)).toBe(true);
  });

  it('holds at most maxEntries denials', async () => {
    const { limiter, store } = limiterWithCache({ maxEntries: 3 });
    await allSubscribed();
    const keys = Array.from({ length: 6 }, (_, i) => `deny:bounded:${Date.now()}:${i}`);
    for (const key of keys) {
      await limiter.check({ key, limit: 1, window: '1h' });
      await limiter.check({ key, limit: 1, window: '1h' });
    }
    // Only the three newest denials are still answered from memory.
    const before = store.stats().denyCacheHits;
    for (const key of [...keys].reverse()) await limiter.check({ key, limit: 1, window: '1h' });
    expect(store.stats().denyCacheHits - before).toBe(3);
  });

  it('keeps resets and refunds working where pub/sub is not allowed, and then remembers nothing', async () => {
    const locked = await RedisServer.start();
    const lockedAdmin = new Redis(locked.url);
    // Redis 7 grants an ACL user no pub/sub channel unless told to.
    await lockedAdmin.acl('SETUSER', 'limiter', 'on', '>limiter-password-0123', '~*', '+@all');
    const store = new RedisStore({
      url: `redis://limiter:limiter-password-0123@127.0.0.1:${locked.port}`,
      timeoutMs: 2000,
      denyCache: true,
    });
    const limiter = new RateLimiter({ store });
    try {
      const check = { key: 'acl', limit: 1, window: '1h' };
      expect((await limiter.check(check)).allowed).toBe(true);
      expect((await limiter.check(check)).allowed).toBe(false);
      // The refund is done whether or not its invalidation could be published.
      expect(await limiter.refund(check)).toMatchObject({ count: 0 });
      await limiter.reset(check);
      await eventually(() => Promise.resolve(store.stats().invalidationFailures >= 2));
      expect((await limiter.check(check)).allowed).toBe(true);
      for (let i = 0; i < 3; i++) expect((await limiter.check(check)).allowed).toBe(false);
      expect(store.stats().denyCacheHits).toBe(0);
    } finally {
      await limiter.close();
      lockedAdmin.disconnect();
      await locked.stop();
    }
  });
});
