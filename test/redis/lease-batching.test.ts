import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OverloadedError, RateLimiter, RedisStore } from '../../src/index.js';
import { workerRedis } from '../support/worker-redis.js';

const server = workerRedis();
let admin: Redis;

beforeAll(() => {
  admin = new Redis(server.url);
});

afterAll(() => {
  admin.disconnect();
});

async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return calls('eval') + calls('evalsha');
}

async function withLimiter<T>(
  options: Partial<ConstructorParameters<typeof RedisStore>[0]>,
  use: (limiter: RateLimiter) => Promise<T>,
): Promise<T> {
  const limiter = new RateLimiter({
    store: new RedisStore({ url: server.url, timeoutMs: 2000, ...options }),
  });
  try {
    // Each lease script loaded once, so a NOSCRIPT retry does not count as a second call below.
    const warm = await limiter.acquire({ key: 'batching:warm', limit: 1, ttl: 1 });
    await limiter.renew({ key: 'batching:warm', leaseId: warm.leaseId ?? '', ttl: 1 });
    await limiter.release({ key: 'batching:warm', leaseId: warm.leaseId ?? '' });
    return await use(limiter);
  } finally {
    await limiter.close();
  }
}

describe('RedisStore lease calls, coalesced', () => {
  it('sends the acquires, renewals and releases of one turn in one script call each, decided in order', async () => {
    await withLimiter({}, async (limiter) => {
      const key = 'batching:one-key';
      let before = await scriptCalls();
      const acquired = await Promise.all(
        Array.from({ length: 30 }, () => limiter.acquire({ key, limit: 10, ttl: 60 })),
      );
      expect(await scriptCalls()).toBe(before + 1);
      expect(acquired.map((lease) => lease.allowed)).toEqual(Array.from({ length: 30 }, (_, i) => i < 10));
      expect(acquired.map((lease) => lease.inFlight)).toEqual(
        Array.from({ length: 30 }, (_, i) => Math.min(i + 1, 10)),
      );
      const ids = acquired.flatMap((lease) => (lease.leaseId === undefined ? [] : [lease.leaseId]));
      expect(new Set(ids).size).toBe(10);

      before = await scriptCalls();
      const renewed = await Promise.all(ids.map((leaseId) => limiter.renew({ key, leaseId, ttl: 30 })));
      expect(renewed.every((renewal) => renewal.renewed)).toBe(true);
      // A release of the same lease twice in one call frees it once.
      const released = await Promise.all(
        [...ids, ids[0] ?? ''].map((leaseId) => limiter.release({ key, leaseId })),
      );
      expect(await scriptCalls()).toBe(before + 2);
      expect(released.map((release) => release.released)).toEqual([...ids.map(() => true), false]);
      expect(released.map((release) => release.inFlight)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
      expect(await admin.keys('ratelimit:{batching:one-key}*')).toEqual([]);
    });
  });

  it('puts acquires of different keys in one call, each key on its own', async () => {
    await withLimiter({}, async (limiter) => {
      const before = await scriptCalls();
      const acquired = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          limiter.acquire({ key: `batching:key-${i % 4}`, limit: 3, ttl: 60 }),
        ),
      );
      expect(await scriptCalls()).toBe(before + 1);
      // Key k is asked for at i = k, k + 4, ...: its first three are admitted.
      expect(acquired.map((lease) => lease.allowed)).toEqual(Array.from({ length: 20 }, (_, i) => i < 12));
    });
  });

  it('refuses lease calls past its queue bound with OverloadedError, holding nothing', async () => {
    await withLimiter({ maxQueued: 2 }, async (limiter) => {
      const key = 'batching:overloaded';
      const settled = await Promise.allSettled(
        Array.from({ length: 5 }, () => limiter.acquire({ key, limit: 100, ttl: 60 })),
      );
      expect(settled.map((result) => result.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'rejected',
        'rejected',
      ]);
      for (const result of settled.slice(2)) {
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(OverloadedError);
      }
      expect((await limiter.acquire({ key, limit: 100, ttl: 60, cost: 0 })).inFlight).toBe(2);
    });
  });
});
