import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HonoRateLimiterStore, rateLimit } from '../../../src/adapters/hono/index.js';
import type { HonoRateLimitOptions } from '../../../src/adapters/hono/index.js';
import type { FailureMode } from '../../../src/index.js';
import { DeadRedisLimiters, memoryLimiter, request, until } from '../../support/adapter-http.js';

const servers: ServerType[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        }),
    ),
  );
});

async function listen(app: Hono): Promise<string> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve(`http://127.0.0.1:${info.port}`);
    });
    servers.push(server);
  });
}

function routes(app: Hono): Hono {
  // Hono's default onError logs the throw; the test only needs the 500.
  app.onError((_error, c) => c.json({ ok: false }, 500));
  app.get('/ok', (c) => c.json({ ok: true }));
  app.get('/fail', (c) => c.json({ ok: false }, 500));
  app.get('/throw', () => {
    throw new Error('handler failed');
  });
  return app;
}

describe('hono rateLimit()', () => {
  async function app(options: HonoRateLimitOptions) {
    const application = new Hono();
    application.use(rateLimit(options));
    return listen(routes(application));
  }

  it('limits by the peer address, with headers, 429 body and Retry-After', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({ limiter, limit: 2, window: '30s' });
    const first = await request(`${url}/ok`, { headers: { 'x-forwarded-for': '1.1.1.1' } });
    expect(first.headers.get('ratelimit')).toBe('"default";r=1;t=30');
    await request(`${url}/ok`, { headers: { 'x-forwarded-for': '2.2.2.2' } });
    const denied = await request(`${url}/ok`);
    expect(denied.status).toBe(429);
    expect(denied.headers.get('retry-after')).toBe('30');
    expect(denied.json).toEqual({
      error: { code: 'rate_limited', message: 'too many requests: retry in 30 s' },
    });
  });

  it('keys by key(), charges cost(), skips skip(), answers onLimited', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({
      limiter,
      limit: 3,
      window: 60,
      key: (c) => c.req.header('x-user') ?? 'anonymous',
      cost: (c) => Number(c.req.query('cost') ?? '1'),
      skip: (c) => c.req.path === '/fail',
      onLimited: (c, admission) => c.text(`wait ${admission.decisions[0]?.retryAfterMs ?? 0}`, 429),
    });
    expect((await request(`${url}/ok?cost=3`, { headers: { 'x-user': 'a' } })).status).toBe(200);
    const denied = await request(`${url}/ok`, { headers: { 'x-user': 'a' } });
    expect([denied.status, denied.text]).toEqual([429, 'wait 60000']);
    expect((await request(`${url}/fail`, { headers: { 'x-user': 'a' } })).status).toBe(500);
    expect((await request(`${url}/ok`, { headers: { 'x-user': 'b' } })).status).toBe(200);
  });

  it('refunds failed responses and thrown handlers with skipFailedRequests', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({ limiter, limit: 1, window: 60, skipFailedRequests: true });
    const count = async () => (await limiter.peek({ key: '127.0.0.1', limit: 1, window: 60 })).count;
    for (const path of ['/fail', '/throw', '/fail']) {
      expect((await request(`${url}${path}`)).status).toBe(500);
      await until(async () => (await count()) === 0, `refund after ${path}`);
    }
    expect((await request(`${url}/ok`)).status).toBe(200);
    expect((await request(`${url}/ok`)).status).toBe(429);
  });
});

describe('hono rateLimit() when the store is unreachable', () => {
  const dead = new DeadRedisLimiters();
  afterAll(() => dead.closeAll());
  async function appOnDeadRedis(mode: FailureMode, extra: Partial<HonoRateLimitOptions> = {}) {
    const limiter = await dead.open(mode);
    const application = new Hono();
    application.use(rateLimit({ limiter, limit: 1, window: 60, ...extra }));
    return listen(routes(application));
  }

  it('closed: 503 store_unavailable, or onError', async () => {
    const answer = await request(`${await appOnDeadRedis('closed')}/ok`);
    expect([answer.status, answer.json]).toMatchObject([503, { error: { code: 'store_unavailable' } }]);
    const custom = await appOnDeadRedis('closed', { onError: (error, c) => c.text(error.name, 502) });
    const mapped = await request(`${custom}/ok`);
    expect([mapped.status, mapped.text]).toEqual([502, 'StoreUnavailableError']);
  });

  it('open: admitted, marked degraded', async () => {
    const url = await appOnDeadRedis('open');
    for (let i = 0; i < 3; i++) {
      const answer = await request(`${url}/ok`);
      expect([answer.status, answer.headers.get('ratelimiter-degraded')]).toEqual([200, 'true']);
    }
  });
});

describe('hono-rate-limiter with only its store changed', () => {
  async function peerApp(options: Record<string, unknown>) {
    const application = new Hono();
    application.use(
      rateLimiter({
        windowMs: 60_000,
        limit: 2,
        standardHeaders: 'draft-7',
        keyGenerator: () => 'one-client',
        ...options,
      }),
    );
    return listen(routes(application));
  }

  it('keeps its limit, headers and 429', async () => {
    const { limiter } = memoryLimiter();
    const url = await peerApp({ store: new HonoRateLimiterStore({ limiter }) });
    const first = await request(`${url}/ok`);
    expect(first.headers.get('ratelimit')).toBe('limit=2, remaining=1, reset=60');
    await request(`${url}/ok`);
    const denied = await request(`${url}/ok`);
    expect(denied.status).toBe(429);
    expect((await limiter.peek({ key: 'hrl:one-client', limit: 2, window: 60 })).count).toBe(2);
  });

  it('store cases: count, decrement, get, reset, expiry', async () => {
    const { limiter, clock } = memoryLimiter();
    const store = new HonoRateLimiterStore({ limiter, prefix: 'h:' });
    store.init({ windowMs: 1000, limit: 2 });
    expect((await store.increment('k')).totalHits).toBe(1);
    expect((await store.increment('k')).totalHits).toBe(2);
    expect((await store.increment('k')).totalHits).toBe(3);
    expect((await store.get('k'))?.totalHits).toBe(2);
    await store.decrement('k');
    expect((await store.get('k'))?.totalHits).toBe(1);
    await store.resetKey('k');
    expect(await store.get('k')).toBeUndefined();
    await store.increment('k');
    clock.advanceMs(1000);
    expect(await store.get('k')).toBeUndefined();
  });

  it("skipSuccessfulRequests: a denied request's decrement gives nothing back", async () => {
    const { limiter } = memoryLimiter();
    const url = await peerApp({
      store: new HonoRateLimiterStore({ limiter }),
      skipSuccessfulRequests: true,
      limit: 1,
    });
    const count = async () => (await limiter.peek({ key: 'hrl:one-client', limit: 1, window: 60 })).count;
    expect((await request(`${url}/fail`)).status).toBe(500);
    expect(await count()).toBe(1);
    expect((await request(`${url}/ok`)).status).toBe(429);
    expect(await count()).toBe(1);
  });
});
