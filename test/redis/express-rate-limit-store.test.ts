import { createServer } from 'node:http';
import express from 'express';
import { rateLimit as erl8 } from 'express-rate-limit';
import { rateLimit as erl7 } from 'express-rate-limit-v7';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ExpressRateLimitStore } from '../../src/adapters/express/index.js';
import { ManualClock, RateLimiter, RedisStore } from '../../src/index.js';
import { freePort } from '../../support/redis-server.js';
import { workerRedis } from '../support/worker-redis.js';
import { closeServer, listenOn, memoryLimiter, request, until } from '../support/adapter-http.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

const sharedRedis = workerRedis();
const opened: RateLimiter[] = [];
afterAll(async () => {
  await Promise.all(opened.map((limiter) => limiter.close()));
});

/** A limiter on a fresh store driven by a manual clock: memory, or the worker's Redis (script time). */
function limiterOn(kind: 'memory' | 'redis'): { limiter: RateLimiter; clock: ManualClock } {
  if (kind === 'memory') return memoryLimiter();
  const clock = new ManualClock();
  const limiter = new RateLimiter({
    store: new RedisStore({ url: sharedRedis.url, timeoutMs: 2000, clock }),
  });
  opened.push(limiter);
  return { limiter, clock };
}

let storeSerial = 0;

/**
 * The store's own behaviour, modelled on express-rate-limit's MemoryStore tests and
 * rate-limit-redis's store tests (the cases, written as ours), on memory and on Redis.
 */
describe.each(['memory', 'redis'] as const)('ExpressRateLimitStore as a store, on %s', (kind) => {
  function initialised(limit = 3, windowMs = 60_000, extra: Record<string, unknown> = {}) {
    const setup = limiterOn(kind);
    // A prefix per test: on Redis the tests share one server.
    const store = new ExpressRateLimitStore({ limiter: setup.limiter, prefix: `t${++storeSerial}:` });
    store.init({ windowMs, limit, ...extra });
    return { store, ...setup };
  }

  it('counts a new key from 1, one more per increment, with a reset time a window ahead', async () => {
    const { store } = initialised();
    const first = await store.increment('client');
    expect(first.totalHits).toBe(1);
    const ahead = (first.resetTime?.getTime() ?? 0) - Date.now();
    expect(ahead).toBeGreaterThan(59_000);
    expect(ahead).toBeLessThanOrEqual(60_000);
    expect((await store.increment('client')).totalHits).toBe(2);
    expect((await store.increment('other')).totalHits).toBe(1);
  });

  it('reports a denied hit above the limit, but records nothing for it', async () => {
    const { store, limiter } = initialised(2);
    await store.increment('client');
    await store.increment('client');
    const denied = await store.increment('client');
    expect(denied.totalHits).toBe(3);
    expect((await store.increment('client')).totalHits).toBe(3);
    expect((await limiter.peek({ key: `${store.prefix}client`, limit: 2, window: 60 })).count).toBe(2);
  });

  it('decrements one hit, never below zero', async () => {
    const { store } = initialised();
    await store.increment('client');
    await store.increment('client');
    await store.decrement('client');
    expect((await store.get('client'))?.totalHits).toBe(1);
    await store.decrement('client');
    await store.decrement('client');
    expect(await store.get('client')).toBeUndefined();
  });

  it('resets one key, leaving the others', async () => {
    const { store } = initialised();
    await store.increment('a');
    await store.increment('b');
    await store.resetKey('a');
    expect(await store.get('a')).toBeUndefined();
    expect((await store.get('b'))?.totalHits).toBe(1);
  });

  it('forgets hits once the window has passed', async () => {
    const { store, clock } = initialised(3, 1000);
    await store.increment('client');
    await store.increment('client');
    clock.advanceMs(1000);
    expect(await store.get('client')).toBeUndefined();
    expect((await store.increment('client')).totalHits).toBe(1);
  });

  it('keeps stores with different prefixes apart, and is not local', async () => {
    const { limiter } = limiterOn(kind);
    const a = new ExpressRateLimitStore({ limiter, prefix: 'a:' });
    const b = new ExpressRateLimitStore({ limiter, prefix: 'b:' });
    a.init({ windowMs: 60_000, limit: 5 });
    b.init({ windowMs: 60_000, limit: 5 });
    await a.increment('client');
    expect((await b.increment('client')).totalHits).toBe(1);
    expect([a.localKeys, a.prefix, new ExpressRateLimitStore({ limiter }).prefix]).toEqual([
      false,
      'a:',
      'erl:',
    ]);
  });

  it('with a limit function, counts against the ceiling it is given, and refuses to guess without one', () => {
    const { limiter } = memoryLimiter();
    expect(() => {
      new ExpressRateLimitStore({ limiter }).init({ windowMs: 1000, limit: () => 5 });
    }).toThrow(/ceiling/);
    expect(() => {
      new ExpressRateLimitStore({ limiter, limit: 100 }).init({ windowMs: 1000, limit: () => 5 });
    }).not.toThrow();
  });

  it('absorbs the decrement of a denied hit when skipFailedRequests is on: it spent nothing', async () => {
    const { store, limiter } = initialised(2, 60_000, { skipFailedRequests: true });
    await store.increment('client');
    await store.increment('client');
    await store.increment('client'); // denied
    await store.decrement('client'); // express-rate-limit's decrement for the 429
    expect((await limiter.peek({ key: `${store.prefix}client`, limit: 2, window: 60 })).count).toBe(2);
  });
});

for (const [version, rateLimit] of [
  ['v8', erl8],
  ['v7', erl7],
] as const) {
  describe(`express-rate-limit ${version} with only its store line changed`, () => {
    async function app(options: Record<string, unknown>) {
      const application = express();
      application.use(
        rateLimit({
          windowMs: 60_000,
          limit: 2,
          standardHeaders: 'draft-7',
          legacyHeaders: false,
          ...options,
        }),
      );
      application.get('/ok', (_req, res) => res.send('ok'));
      application.get('/fail', (_req, res) => res.status(500).send('no'));
      const server = createServer(application);
      servers.push(server);
      return listenOn(server);
    }

    it('keeps its limit, its headers and its 429', async () => {
      const { limiter } = memoryLimiter();
      const url = await app({ store: new ExpressRateLimitStore({ limiter }) });
      const first = await request(`${url}/ok`);
      expect(first.headers.get('ratelimit')).toBe('limit=2, remaining=1, reset=60');
      expect(first.headers.get('ratelimit-policy')).toBe('2;w=60');
      expect((await request(`${url}/ok`)).status).toBe(200);
      const denied = await request(`${url}/ok`);
      expect(denied.status).toBe(429);
      expect(denied.text).toBe('Too many requests, please try again later.');
      expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(denied.headers.get('ratelimit')).toMatch(/^limit=2, remaining=0, reset=\d+$/);
    });

    it('skipFailedRequests gives failed requests back, and never a 429 that spent nothing', async () => {
      const { limiter } = memoryLimiter();
      const url = await app({ store: new ExpressRateLimitStore({ limiter }), skipFailedRequests: true });
      for (let i = 0; i < 3; i++) await request(`${url}/fail`);
      const counted = async () => (await limiter.peek({ key: 'erl:127.0.0.1', limit: 2, window: 60 })).count;
      await until(async () => (await counted()) === 0, 'refunds');
      expect((await request(`${url}/ok`)).status).toBe(200);
      expect((await request(`${url}/ok`)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await request(`${url}/ok`)).status).toBe(429);
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The three 429s were decremented by express-rate-limit; none of those gave back a unit.
      expect((await request(`${url}/ok`)).status).toBe(429);
    });
  });
}

describe('express-rate-limit on one Redis from two stores (as two processes would)', () => {
  const redis = sharedRedis;
  const limiters: RateLimiter[] = [];
  afterAll(async () => {
    await Promise.all(limiters.map((limiter) => limiter.close()));
  });

  it('shares the count: 2 per window across both apps', async () => {
    const urls = [];
    for (let i = 0; i < 2; i++) {
      const limiter = new RateLimiter({ store: new RedisStore({ url: redis.url, timeoutMs: 2000 }) });
      limiters.push(limiter);
      const application = express();
      application.use(erl8({ windowMs: 60_000, limit: 2, store: new ExpressRateLimitStore({ limiter }) }));
      application.get('/ok', (_req, res) => res.send('ok'));
      const server = createServer(application);
      servers.push(server);
      urls.push(await listenOn(server));
    }
    const statuses = [];
    for (const url of [...urls, ...urls]) statuses.push((await request(`${url}/ok`)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });
});

describe('ExpressRateLimitStore when the store is unreachable (open mode)', () => {
  it('admits with totalHits 1, and the decrement of that uncounted hit gives nothing back', async () => {
    const dead = new RateLimiter({
      store: new RedisStore({ url: `redis://127.0.0.1:${await freePort()}`, timeoutMs: 200 }),
      failurePolicy: { mode: 'open' },
    });
    opened.push(dead);
    const store = new ExpressRateLimitStore({ limiter: dead });
    store.init({ windowMs: 60_000, limit: 2, skipFailedRequests: true });
    expect((await store.increment('client')).totalHits).toBe(1);
    // Absorbed: no refund is attempted (it would fail, or give back another request's unit).
    await expect(store.decrement('client')).resolves.toBeUndefined();
    expect(store.lostRefunds).toBe(0);
    // The next one is tried, and fails: dropped and counted, never thrown at the response (18.15).
    await expect(store.decrement('client')).resolves.toBeUndefined();
    expect(store.lostRefunds).toBe(1);
  });
});
