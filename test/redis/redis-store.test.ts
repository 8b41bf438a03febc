import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES, RateLimiter, RedisStore, StoreUnavailableError } from '../../src/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { workerRedis } from '../support/worker-redis.js';

const server = workerRedis();
let admin: Redis;

beforeAll(() => {
  admin = new Redis(server.url);
});

afterAll(() => {
  admin.disconnect();
});

async function allKeys(pattern = '*'): Promise<string[]> {
  return admin.keys(pattern);
}

async function withLimiter<T>(
  options: Partial<ConstructorParameters<typeof RedisStore>[0]>,
  use: (limiter: RateLimiter, store: RedisStore) => Promise<T>,
): Promise<T> {
  const store = new RedisStore({ url: server.url, timeoutMs: 2000, ...options });
  const limiter = new RateLimiter({ store });
  try {
    return await use(limiter, store);
  } finally {
    await limiter.close();
  }
}

describe('RedisStore key layout and expiry', () => {
  it('writes the contract layout: <prefix>{<key>}:swl2:<window ms>, one entry per check', async () => {
    await withLimiter({}, async (limiter) => {
      const before = Date.now() * 1000;
      await limiter.check({ key: 'user:42', limit: 1e9, window: 60, cost: 250_000_000 });
      await limiter.check({ key: 'user:42', limit: 1e9, window: 60, cost: 7 });
      expect(await allKeys('ratelimit:{user:42}*')).toEqual(['ratelimit:{user:42}:swl2:60000']);
      // A list, oldest first, 20 bytes an entry: big-endian doubles <time µs (Redis TIME)> and
      // <units before>, uint32 <cost>.
      const entries = await admin.lrangeBuffer('ratelimit:{user:42}:swl2:60000', 0, -1);
      const decode = (entry: Buffer) => [entry.length, entry.readDoubleBE(8), entry.readUInt32BE(16)];
      expect(entries.map(decode)).toEqual([
        [20, 0, 250_000_000],
        [20, 250_000_000, 7],
      ]);
      const [first, second] = entries.map((entry) => entry.readDoubleBE(0)) as [number, number];
      expect(first).toBeGreaterThanOrEqual(before - 1_000_000);
      expect(second).toBeGreaterThanOrEqual(first);
      expect(await limiter.peek({ key: 'user:42', limit: 1e9, window: 60 })).toMatchObject({
        count: 250_000_007,
      });
    });
  });

  it("never meets a key of 0.1.0's layouts, which sit under the names 0.1.0 gave them", async () => {
    // A rolling upgrade: an old node keeps writing these while new nodes run. Under one name, the
    // new scripts answered WRONGTYPE (a store failure, admitted by `open` for up to the window) or
    // read a window start (µs) as a window index.
    const nowUs = Date.now() * 1000;
    const old = {
      'sliding-window-log': 'upgrade-test:{k}:swl:60000',
      'sliding-window-counter': 'upgrade-test:{k}:swc:60000',
      'fixed-window': 'upgrade-test:{k}:fw:60000',
      'token-bucket': 'upgrade-test:{k}:tb:60000',
    } as const;
    await admin.zadd(old['sliding-window-log'], nowUs, `${nowUs}:1`);
    await admin.hset(old['sliding-window-counter'], { s: nowUs, c: 3, p: 2 });
    await admin.hset(old['fixed-window'], { s: nowUs, c: 3 });
    await admin.hset(old['token-bucket'], { tat: nowUs });
    const before = await Promise.all(Object.values(old).map((key) => admin.dump(key)));
    await withLimiter({ keyPrefix: 'upgrade-test:' }, async (limiter) => {
      for (const algorithm of ALGORITHM_NAMES) {
        const decision = await limiter.check({ key: 'k', limit: 5, window: 60, algorithm });
        expect(decision, algorithm).toMatchObject({ allowed: true, count: 1 });
        expect(decision.degraded, algorithm).toBeUndefined();
      }
    });
    expect(await Promise.all(Object.values(old).map((key) => admin.dump(key)))).toEqual(before);
  });

  it('honours a custom prefix and escapes braces so one key keeps one hash tag', async () => {
    await withLimiter({ keyPrefix: 'rl-test:' }, async (limiter) => {
      await limiter.check({ key: '}odd%key}', limit: 10, window: 1 });
      expect(await allKeys('rl-test:*')).toEqual(['rl-test:{%7Dodd%25key%7D}:swl2:1000']);
    });
    expect(() => new RedisStore({ url: server.url, keyPrefix: 'bad{' })).toThrow(/prefix/);
  });

  it('keeps keys with braces, colons, newlines, NUL and long unicode apart', async () => {
    // The HTTP fuzz's table (test/unit/http/fuzz.test.ts), on the Redis layout it is written for.
    await withLimiter({}, async (limiter) => {
      const keys = [
        'a',
        'a}',
        '{a}',
        'a}:swl2:60000',
        'a:swl2:60000',
        'a\n',
        'a\u0000',
        'a%7D',
        'é'.repeat(256),
      ];
      for (const key of keys) {
        expect(await limiter.check({ key, limit: 1, window: '1m' }), JSON.stringify(key)).toMatchObject({
          allowed: true,
          count: 1,
        });
      }
      for (const key of keys) {
        expect(await limiter.peek({ key, limit: 1, window: '1m' }), JSON.stringify(key)).toMatchObject({
          count: 1,
        });
      }
    });
  });

  it('gives every key it writes a TTL no longer than its state can matter', async () => {
    await withLimiter({ keyPrefix: 'ttl-test:' }, async (limiter) => {
      for (const algorithm of ALGORITHM_NAMES) {
        for (const window of ['50ms', '2s', '1h']) {
          await limiter.check({ key: `ttl:${window}`, limit: 5, window, cost: 2, algorithm });
        }
      }
      const keys = await allKeys('ttl-test:*');
      // Three windows per algorithm, one key each.
      expect(keys).toHaveLength(ALGORITHM_NAMES.length * 3);
      for (const key of keys) {
        const ttl = await admin.pttl(key);
        const [, algorithm, windowMs] = /:(swl|swc|fw|tb)2:(\d+)/.exec(key) ?? [];
        // The counter's previous window still weighs for one more window.
        const lifetime = (algorithm === 'swc' ? 2 : 1) * Number(windowMs) + 1000;
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(lifetime);
      }
    });
  });

  it('keeps a sliding counter alive for its next window after a refund rolls it over', async () => {
    await withLimiter({ keyPrefix: 'swc-refund:', expiryGraceMs: 0 }, async (limiter) => {
      const check = {
        key: 'rolled',
        limit: 100,
        window: '300ms',
        algorithm: 'sliding-window-counter' as const,
      };
      await limiter.check({ ...check, cost: 5 });
      // Into the next window: the refund rolls the state over (this window's count becomes previous).
      const windowMs = 300;
      await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 20));
      await limiter.refund({ ...check, cost: 1 });
      await limiter.check({ ...check, cost: 10 });
      // The state weighs until the end of the window after this one: more than one window away.
      expect(await admin.pttl('swc-refund:{rolled}:swc2:300')).toBeGreaterThan(windowMs);
    });
  });

  it('leaves nothing behind once the window and grace have passed', async () => {
    await withLimiter({ keyPrefix: 'gone-test:', expiryGraceMs: 20 }, async (limiter) => {
      for (let i = 0; i < 20; i++) {
        for (const algorithm of ALGORITHM_NAMES) {
          await limiter.check({ key: `gone:${i % 4}`, limit: 100, window: '80ms', algorithm });
        }
      }
      await limiter.checkAll(
        ALGORITHM_NAMES.map((algorithm) => ({ key: 'gone:all', limit: 5, window: '60ms', algorithm })),
      );
      await limiter.check({ key: 'gone:denied', limit: 1, window: '80ms' });
      await limiter.check({ key: 'gone:denied', limit: 1, window: '80ms' });
      await limiter.peek({ key: 'gone:peeked', limit: 1, window: '80ms' });
      expect((await allKeys('gone-test:*')).length).toBeGreaterThan(0);
      const deadline = Date.now() + 2000;
      while ((await allKeys('gone-test:*')).length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await allKeys('gone-test:*')).toEqual([]);
    });
  });

  it('leaves no key for a peek or a denied first check', async () => {
    await withLimiter({ keyPrefix: 'peek-test:' }, async (limiter) => {
      await limiter.peek({ key: 'nothing', limit: 5, window: 60 });
      await limiter.check({ key: 'zero', limit: 0, window: 60, cost: 0 });
      expect(await allKeys('peek-test:*')).toEqual([]);
    });
  });
});

describe('RedisStore concurrency', () => {
  it('admits exactly 10 of a burst of 20 (the seed test)', async () => {
    await withLimiter({}, async (limiter) => {
      const decisions = await Promise.all(
        Array.from({ length: 20 }, () => limiter.check({ key: 'burst:seed', limit: 10, window: 60 })),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      expect(Math.max(...decisions.map((d) => d.count))).toBe(10);
    });
  });

  const exact = ['sliding-window-log', 'fixed-window', 'token-bucket'] as const;
  it.each(exact)('%s admits exactly 500 of 2,000 concurrent checks from 8 connections', async (algorithm) => {
    const stores = Array.from({ length: 8 }, () => new RedisStore({ url: server.url, timeoutMs: 5000 }));
    const limiters = stores.map((store) => new RateLimiter({ store }));
    try {
      const key = `burst:2000:${algorithm}`;
      // A long window: the token bucket refills nothing noticeable during the burst.
      const check = { key, limit: 500, window: '1d', algorithm };
      const decisions = await Promise.all(
        Array.from({ length: 2000 }, (_, i) => (limiters[i % 8] as RateLimiter).check(check)),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(500);
      expect((await (limiters[0] as RateLimiter).peek(check)).count).toBe(500);
    } finally {
      await Promise.all(limiters.map((limiter) => limiter.close()));
    }
  });

  it('never records part of an atomic batch under concurrency', async () => {
    const stores = Array.from({ length: 4 }, () => new RedisStore({ url: server.url, timeoutMs: 5000 }));
    const limiters = stores.map((store) => new RateLimiter({ store }));
    try {
      const key = 'burst:atomic';
      // The tighter limit changes from batch to batch: whichever binds, no counter may run ahead.
      const batches = Array.from({ length: 400 }, (_, i) => [
        { key, limit: 120, window: '1d', cost: 1 + (i % 3) },
        { key, limit: 150, window: '1h', algorithm: 'fixed-window' as const, cost: 2 - (i % 2) },
        { key: 'burst:atomic:tenant', limit: 1000, window: '1d', algorithm: 'token-bucket' as const },
      ]);
      const answers = await Promise.all(
        batches.map((batch, i) => (limiters[i % 4] as RateLimiter).checkAll(batch)),
      );
      const admitted = batches.filter((_, i) => answers[i]?.allowed);
      const sum = (index: number) => admitted.reduce((total, batch) => total + (batch[index]?.cost ?? 1), 0);
      const limiter = limiters[0] as RateLimiter;
      expect((await limiter.peek({ key, limit: 120, window: '1d' })).count).toBe(sum(0));
      expect((await limiter.peek({ key, limit: 150, window: '1h', algorithm: 'fixed-window' })).count).toBe(
        sum(1),
      );
      expect(
        (
          await limiter.peek({
            key: 'burst:atomic:tenant',
            limit: 1000,
            window: '1d',
            algorithm: 'token-bucket',
          })
        ).count,
      ).toBe(admitted.length);
      expect(sum(0)).toBeLessThanOrEqual(120);
      expect(sum(1)).toBeLessThanOrEqual(150);
      expect(sum(0)).toBeGreaterThan(110);
    } finally {
      await Promise.all(limiters.map((limiter) => limiter.close()));
    }
  });
});

describe('RedisStore atomic batches', () => {
  it('decides checks of different keys in one script on a single node', async () => {
    await withLimiter({}, async (limiter) => {
      const before = await commandCalls();
      const batch = [
        { key: 'atomic:user', limit: 1, window: 60 },
        { key: 'atomic:tenant', limit: 5, window: 60, algorithm: 'fixed-window' as const },
      ];
      expect((await limiter.checkAll(batch)).allowed).toBe(true);
      expect((await limiter.checkAll(batch)).allowed).toBe(false);
      const after = await commandCalls();
      expect(after.eval + after.evalsha - before.eval - before.evalsha).toBe(2);
      expect(
        (await limiter.peek({ key: 'atomic:tenant', limit: 5, window: 60, algorithm: 'fixed-window' })).count,
      ).toBe(1);
    });
  });
});

describe('RedisStore script loading', () => {
  it('recovers from SCRIPT FLUSH between two checks, in plain calls and in pipelines', async () => {
    await withLimiter({}, async (limiter) => {
      const check = { key: 'noscript:flush', limit: 10, window: 60 };
      expect((await limiter.check(check)).count).toBe(1);
      await admin.script('FLUSH');
      expect((await limiter.check(check)).count).toBe(2);
      await admin.script('FLUSH');
      const batch = await limiter.checkMany([check, check, { ...check, key: 'noscript:other' }]);
      expect(batch.map((d) => d.count)).toEqual([3, 4, 1]);
      await admin.script('FLUSH');
      expect((await limiter.check(check)).count).toBe(5);
    });
  });

  it('calls the script by EVALSHA once it is loaded', async () => {
    await withLimiter({}, async (limiter) => {
      const before = await commandCalls();
      for (let i = 0; i < 5; i++) await limiter.check({ key: 'evalsha:count', limit: 10, window: 60 });
      const after = await commandCalls();
      expect(after.evalsha - before.evalsha).toBeGreaterThanOrEqual(4);
      expect(after.eval - before.eval).toBeLessThanOrEqual(1);
    });
  });

  it('recovers after a Redis restart without an error reaching the caller once Redis is back', async () => {
    const restarted = await RedisServer.start();
    const store = new RedisStore({ url: restarted.url, timeoutMs: 1000 });
    const limiter = new RateLimiter({ store });
    try {
      expect((await limiter.check({ key: 'restart', limit: 5, window: 60 })).count).toBe(1);
      await restarted.restart();
      // The client reconnects on its own; the restarted server has no scripts and no counters.
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          await store.ping();
          break;
        } catch (error) {
          expect(error).toBeInstanceOf(StoreUnavailableError);
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      expect((await limiter.check({ key: 'restart', limit: 5, window: 60 })).count).toBe(1);
      expect((await limiter.check({ key: 'restart', limit: 5, window: 60 })).count).toBe(2);
    } finally {
      await limiter.close();
      await restarted.stop();
    }
  });
});

describe('RedisStore under maxmemory (issue 9, item 5)', () => {
  it('refuses every algorithm alike when Redis is out of memory, recording nothing', async () => {
    const full = await RedisServer.start(['--maxmemory-policy', 'noeviction']);
    const fullAdmin = new Redis(full.url);
    const limiter = new RateLimiter({ store: new RedisStore({ url: full.url, timeoutMs: 2000 }) });
    try {
      await limiter.check({ key: 'oom:warm-up', limit: 1, window: 1 });
      // Past the cap from now on: 1 byte.
      await fullAdmin.config('SET', 'maxmemory', '1');
      const usedBefore = Number(/used_memory:(\d+)/.exec(await fullAdmin.info('memory'))?.[1]);
      for (const algorithm of ALGORITHM_NAMES) {
        for (let i = 0; i < 40; i++) {
          const error: unknown = await limiter
            .check({ key: `oom:${algorithm}`, limit: 1e9, window: 60, cost: 2000, algorithm })
            .catch((e: unknown) => e);
          expect(error, algorithm).toBeInstanceOf(StoreUnavailableError);
          expect(error, algorithm).toMatchObject({ reason: 'oom' });
        }
      }
      const usedAfter = Number(/used_memory:(\d+)/.exec(await fullAdmin.info('memory'))?.[1]);
      // Nothing was written: the old log script let 40 checks of 2,000 units grow Redis by 9.6 MB.
      expect(usedAfter - usedBefore).toBeLessThan(64 * 1024);
      await fullAdmin.config('SET', 'maxmemory', '0');
      for (const algorithm of ALGORITHM_NAMES) {
        expect(
          (await limiter.peek({ key: `oom:${algorithm}`, limit: 1e9, window: 60, algorithm })).count,
          algorithm,
        ).toBe(0);
      }
    } finally {
      fullAdmin.disconnect();
      await limiter.close();
      await full.stop();
    }
  });
});

describe('RedisStore failures are bounded', () => {
  it('fails a call on a hung server within the timeout, then recovers', async () => {
    const hung = await RedisServer.start();
    const store = new RedisStore({ url: hung.url, timeoutMs: 100 });
    const limiter = new RateLimiter({ store });
    try {
      await limiter.check({ key: 'hung', limit: 5, window: 60 });
      hung.pause();
      const started = performance.now();
      const error: unknown = await limiter
        .check({ key: 'hung', limit: 5, window: 60 })
        .catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ code: 'store_unavailable' });
      expect(elapsed).toBeGreaterThanOrEqual(90);
      expect(elapsed).toBeLessThan(1000);
      hung.resume();
      // The timed-out check may still have run once Redis woke up: at most one unit more.
      const after = await limiter.check({ key: 'hung', limit: 5, window: 60 });
      expect(after.allowed).toBe(true);
      expect([2, 3]).toContain(after.count);
    } finally {
      hung.resume();
      await limiter.close();
      await hung.stop();
    }
  });

  it('fails each call on a hung server after its own budget, whatever waits ahead of it', async () => {
    const hung = await RedisServer.start();
    const store = new RedisStore({ url: hung.url });
    const limiter = new RateLimiter({ store });
    try {
      await limiter.check({ key: 'budgets', limit: 5, window: 60 });
      hung.pause();
      const started = performance.now();
      // A registry write (2 s budget) first, then a check (50 ms) behind it on the same connection.
      const slow = store.connection
        .run(() => store.client.get('budgets:registry'), { timeoutMs: 2000 })
        .then(
          () => ({ ok: true, at: performance.now() - started }),
          () => ({ ok: false, at: performance.now() - started }),
        );
      const check = await limiter.check({ key: 'budgets', limit: 5, window: 60 }).catch((e: unknown) => e);
      const checkFailedAt = performance.now() - started;
      expect(check).toBeInstanceOf(StoreUnavailableError);
      expect(checkFailedAt).toBeLessThan(1000);
      const registry = await slow;
      expect(registry.ok).toBe(false);
      expect(registry.at).toBeGreaterThanOrEqual(1800);
    } finally {
      hung.resume();
      await limiter.close();
      await hung.stop();
    }
  });

  it('answers calls still waiting when a store on a borrowed client closes', async () => {
    const hung = await RedisServer.start();
    const client = new Redis(hung.url);
    const store = new RedisStore({ client, timeoutMs: 60_000 });
    try {
      await store.ping();
      hung.pause();
      const pending = new RateLimiter({ store })
        .check({ key: 'closing', limit: 5, window: 60 })
        .catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      await store.close();
      expect(await pending).toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      hung.resume();
      client.disconnect();
      await hung.stop();
    }
  });

  it('fails at once while Redis is down, saying why, instead of waiting out the timeout', async () => {
    const down = await RedisServer.start();
    // A long timeout: a call that waited for the reconnection instead of failing would show it.
    const store = new RedisStore({ url: down.url, timeoutMs: 3000 });
    const limiter = new RateLimiter({ store });
    try {
      await limiter.check({ key: 'down', limit: 50, window: 60 });
      await down.kill();
      const deadline = Date.now() + 3000;
      while (store.client.status !== 'reconnecting' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const started = performance.now();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => limiter.check({ key: 'down', limit: 50, window: 60 })),
      );
      expect(performance.now() - started).toBeLessThan(1000);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        const reason: unknown = result.status === 'rejected' ? result.reason : undefined;
        expect(reason).toBeInstanceOf(StoreUnavailableError);
        expect((reason as Error).message).toMatch(/reconnecting/);
      }
      // Once a reconnect attempt has failed, the error says why: failed at once while the client
      // waits out its backoff, or with the attempt that was under way.
      const why = Date.now() + 3000;
      let message = '';
      while (!message.includes('ECONNREFUSED') && Date.now() < why) {
        message = await limiter.check({ key: 'down', limit: 50, window: 60 }).then(
          () => 'allowed',
          (error: unknown) => (error as Error).message,
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(message).toMatch(/unreachable( \(reconnecting\))?: connect ECONNREFUSED/);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await limiter.close();
      await down.stop();
    }
  });

  it('uses an existing ioredis client and leaves it open on close', async () => {
    const client = new Redis(server.url);
    const limiter = new RateLimiter({ store: new RedisStore({ client, timeoutMs: 2000 }) });
    expect((await limiter.check({ key: 'own-client', limit: 2, window: 60 })).allowed).toBe(true);
    await limiter.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('accepts a URL with user and password', async () => {
    await admin.acl('SETUSER', 'limiter', 'on', '>s3cret', '~*', '+@all');
    const url = `redis://limiter:s3cret@127.0.0.1:${server.port}`;
    await withLimiter({ url }, async (limiter) => {
      expect((await limiter.check({ key: 'acl', limit: 1, window: 1 })).allowed).toBe(true);
    });
    const wrong = new RedisStore({ url: `redis://limiter:wrong@127.0.0.1:${server.port}`, timeoutMs: 300 });
    await expect(wrong.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await wrong.close();
    // The worker's server goes on to other files as it came.
    await admin.acl('DELUSER', 'limiter');
  });
});

async function commandCalls(): Promise<{ eval: number; evalsha: number }> {
  const info = await admin.info('commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return { eval: calls('eval'), evalsha: calls('evalsha') };
}
