import fastifyRateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import rateLimit, { FastifyRateLimitStore } from '../../../src/adapters/fastify/index.js';
import type { FastifyRateLimitOptions } from '../../../src/adapters/fastify/index.js';
import type { RateLimiter } from '../../../src/index.js';
import type { FailureMode } from '../../../src/index.js';
import {
  DeadRedisLimiters,
  expectPeerLimits,
  memoryLimiter,
  request,
  until,
} from '../../support/adapter-http.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** A real Fastify app with our plugin: `/ok`, `/fail` (500), `/login` (own limit), `/health` (exempt). */
async function app(options: FastifyRateLimitOptions, fastifyOptions: Record<string, unknown> = {}) {
  const application = Fastify(fastifyOptions);
  await application.register(rateLimit, options);
  application.get('/ok', () => ({ ok: true }));
  application.get('/fail', async (_request, reply) => reply.code(500).send({ ok: false }));
  application.get('/login', { config: { rateLimiter: { limit: 1, window: '1m' } } }, () => ({ ok: true }));
  application.get('/health', { config: { rateLimiter: false } }, () => ({ ok: true }));
  return listen(application);
}

describe('fastify plugin', () => {
  it('limits every route, per-route config overrides, false exempts', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({ limiter, limit: 2, window: '10s' });
    expect((await request(`${url}/ok`)).status).toBe(200);
    expect((await request(`${url}/ok`)).status).toBe(200);
    const denied = await request(`${url}/ok`);
    expect(denied.status).toBe(429);
    expect(denied.json).toEqual({
      error: { code: 'rate_limited', message: 'too many requests: retry in 10 s' },
    });
    expect(denied.headers.get('retry-after')).toBe('10');
    expect(denied.headers.get('ratelimit-policy')).toBe('"default";q=2;w=10');
    expect((await request(`${url}/login`)).status).toBe(200);
    expect((await request(`${url}/login`)).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await request(`${url}/health`)).status).toBe(200);
  });

  it('a route that names its own limit replaces global limits, keeping what it does not name', async () => {
    const { limiter } = memoryLimiter();
    const application = Fastify();
    await application.register(rateLimit, {
      limiter,
      limits: [
        { limit: 5, window: '1s' },
        { limit: 50, window: '1h' },
      ],
    });
    application.get('/one', { config: { rateLimiter: { limit: 1, window: '1m' } } }, () => 'one');
    application.get('/two', { config: { rateLimiter: { statusCode: 503 } } }, () => 'two');
    application.get('/three', { config: { rateLimiter: { limit: 2, window: '1m' } } }, () => 'three');
    const url = await listen(application);
    const first = await request(`${url}/one`);
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=1;w=60');
    expect((await request(`${url}/one`)).status).toBe(429);
    // Counted apart from /one although window and algorithm are the same: the route is in the key.
    expect((await request(`${url}/three`)).headers.get('ratelimit')).toBe('"default";r=1;t=60');
    expect((await request(`${url}/two`)).headers.get('ratelimit-policy')).toBe(
      '"limit-0";q=5;w=1, "limit-1";q=50;w=3600',
    );
  });

  it('with global: false limits only the routes that ask', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({ limiter, limit: 1, window: 60, global: false });
    for (let i = 0; i < 3; i++) expect((await request(`${url}/ok`)).status).toBe(200);
    expect((await request(`${url}/login`)).status).toBe(200);
    expect((await request(`${url}/login`)).status).toBe(429);
  });

  it('keys by request.ip, which follows trustProxy', async () => {
    const plain = await app({ limiter: memoryLimiter().limiter, limit: 1, window: 60 });
    expect((await request(`${plain}/ok`, { headers: { 'x-forwarded-for': '1.1.1.1' } })).status).toBe(200);
    expect((await request(`${plain}/ok`, { headers: { 'x-forwarded-for': '2.2.2.2' } })).status).toBe(429);
    const proxied = await app(
      { limiter: memoryLimiter().limiter, limit: 1, window: 60 },
      { trustProxy: '127.0.0.1' },
    );
    expect((await request(`${proxied}/ok`, { headers: { 'x-forwarded-for': '1.1.1.1' } })).status).toBe(200);
    expect((await request(`${proxied}/ok`, { headers: { 'x-forwarded-for': '2.2.2.2' } })).status).toBe(200);
  });

  it('checks several limits atomically, and exposes the admission on the request', async () => {
    const { limiter } = memoryLimiter();
    const application = Fastify();
    await application.register(rateLimit, {
      limiter,
      limits: [
        { limit: 1, window: '1s', name: 'second' },
        { limit: 5, window: '1h', algorithm: 'token-bucket', name: 'hour' },
      ],
    });
    application.get('/me', (req) => ({ remaining: req.rateLimit?.decisions.map((d) => d.remaining) }));
    const url = await listen(application);
    expect((await request(`${url}/me`)).json).toEqual({ remaining: [0, 4] });
    expect((await request(`${url}/me`)).status).toBe(429);
    expect(
      (await limiter.peek({ key: '127.0.0.1', limit: 5, window: '1h', algorithm: 'token-bucket' })).remaining,
    ).toBe(4);
  });

  it('skips skip(), keys by key(), charges cost(), refunds successes with skipSuccessfulRequests', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({
      limiter,
      limit: 4,
      window: 60,
      key: (req) => String(req.headers['x-user'] ?? 'anonymous'),
      cost: (req) => Number((req.query as { cost?: string }).cost ?? '1'),
      skip: (req) => req.headers['x-internal'] === 'yes',
      skipSuccessfulRequests: true,
    });
    const count = async (user: string) => (await limiter.peek({ key: user, limit: 4, window: 60 })).count;
    expect((await request(`${url}/fail?cost=4`, { headers: { 'x-user': 'a' } })).status).toBe(500);
    expect((await request(`${url}/fail`, { headers: { 'x-user': 'a' } })).status).toBe(429);
    expect((await request(`${url}/fail`, { headers: { 'x-user': 'a', 'x-internal': 'yes' } })).status).toBe(
      500,
    );
    expect((await request(`${url}/ok?cost=3`, { headers: { 'x-user': 'b' } })).status).toBe(200);
    await until(async () => (await count('b')) === 0, 'the refund of a success');
    expect(await count('a')).toBe(4);
  });

  it('skipFailedRequests gives the units of failed replies back', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({ limiter, limit: 2, window: 60, skipFailedRequests: true });
    for (let i = 0; i < 4; i++) expect((await request(`${url}/fail`)).status).toBe(500);
    await until(
      async () => (await limiter.peek({ key: '127.0.0.1', limit: 2, window: 60 })).count === 0,
      'refunds',
    );
    expect((await request(`${url}/ok`)).status).toBe(200);
  });

  describe('when the store is unreachable', () => {
    const dead = new DeadRedisLimiters();
    afterAll(() => dead.closeAll());
    async function appOnDeadRedis(mode: FailureMode, extra: Partial<FastifyRateLimitOptions> = {}) {
      const limiter = await dead.open(mode);
      return app({ limiter, limit: 1, window: 60, ...extra });
    }

    it("closed: 503 by default, or Fastify's error handler when onError throws", async () => {
      const answer = await request(`${await appOnDeadRedis('closed')}/ok`);
      expect([answer.status, (answer.json as { error: { code: string } }).error.code]).toEqual([
        503,
        'store_unavailable',
      ]);
      const thrown = await appOnDeadRedis('closed', {
        onError: (error) => {
          throw Object.assign(error, { statusCode: 502 });
        },
      });
      expect((await request(`${thrown}/ok`)).status).toBe(502);
    });

    it('open: admitted and marked degraded', async () => {
      const url = await appOnDeadRedis('open');
      for (let i = 0; i < 3; i++) {
        const answer = await request(`${url}/ok`);
        expect([answer.status, answer.headers.get('ratelimiter-degraded')]).toEqual([200, 'true']);
      }
    });
  });
});

describe('@fastify/rate-limit with only its store changed', () => {
  async function peerApp(limiter: RateLimiter, extra: Record<string, unknown> = {}) {
    const application = Fastify();
    await application.register(fastifyRateLimit, {
      max: 2,
      timeWindow: '1 minute',
      store: FastifyRateLimitStore.using({ limiter }),
      ...extra,
    });
    application.get('/ok', () => ({ ok: true }));
    // The same window as the global limit: its count must still be the route's own.
    application.get('/login', { config: { rateLimit: { max: 1, timeWindow: 60_000 } } }, () => ({
      ok: true,
    }));
    return listen(application);
  }

  it('keeps its max, its headers and its 429, per route too', async () => {
    const { limiter, clock } = memoryLimiter();
    const url = await peerApp(limiter);
    await expectPeerLimits(url, clock, { statusCode: 429, error: 'Too Many Requests' });
  });

  it('reads without counting (increment: false), and a denied hit records nothing', async () => {
    const { limiter } = memoryLimiter();
    const store = new FastifyRateLimitStore({ limiter });
    const incr = (max: number) =>
      new Promise<{ current: number; ttl: number }>((resolve, reject) => {
        store.incr(
          'k',
          (error, record) => {
            if (error) reject(error);
            else resolve(record ?? { current: -1, ttl: -1 });
          },
          1000,
          max,
        );
      });
    const read = () =>
      new Promise<{ current: number; ttl: number }>((resolve, reject) => {
        store.read(
          'k',
          (error, record) => {
            if (error) reject(error);
            else resolve(record ?? { current: -1, ttl: -1 });
          },
          1000,
          2,
        );
      });
    expect((await incr(2)).current).toBe(1);
    expect((await incr(2)).current).toBe(2);
    expect(await incr(2)).toEqual({ current: 3, ttl: 1000 });
    expect(await read()).toEqual({ current: 2, ttl: 1000 });
    expect((await incr(0)).current).toBe(1);
    expect(store.child()).toBeInstanceOf(FastifyRateLimitStore);
  });
});
