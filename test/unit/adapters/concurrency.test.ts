import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import fastifyRateLimit from '../../../src/adapters/fastify/index.js';
import { RateLimitCore } from '../../../src/adapters/shared/middleware.js';
import type { MiddlewareOptions } from '../../../src/adapters/shared/middleware.js';
import { ManualClock, MemoryStore } from '../../../src/index.js';
import type { FailureMode } from '../../../src/index.js';
import { DeadRedisLimiters, request, until } from '../../support/adapter-http.js';
import { FRAMEWORKS, Gate } from '../../support/concurrency-apps.js';
import { ObservedLimiter, describeConcurrencyMiddleware } from '../../support/concurrency-cases.js';

describeConcurrencyMiddleware('memory', () => {
  const clock = new ManualClock();
  return Promise.resolve({ limiter: new ObservedLimiter({ store: new MemoryStore({ clock }) }), clock });
});

describe('the concurrency option, validated when the middleware is built', () => {
  const limiter = new ObservedLimiter({ store: new MemoryStore() });
  const build = (options: Partial<MiddlewareOptions<unknown>>) => () =>
    new RateLimitCore<unknown>({ limiter, ...options }, () => '127.0.0.1');
  const refusal = (field: string, message: RegExp): unknown =>
    expect.objectContaining({ field, message: expect.stringMatching(message) as unknown });

  it('names the field at fault', () => {
    const cases: [Partial<MiddlewareOptions<unknown>>, string, RegExp][] = [
      [{ concurrency: { limit: -1, ttl: '10s' } }, 'concurrency.limit', /integer >= 0/],
      [{ concurrency: { limit: 1_000_001, ttl: '10s' } }, 'concurrency.limit', /<= 1000000/],
      [{ concurrency: { limit: 2, ttl: '50ms' } }, 'concurrency.ttl', /between 100ms and 1h/],
      [{ concurrency: { limit: 2, ttl: '2h' } }, 'concurrency.ttl', /between 100ms and 1h/],
      [{ concurrency: { limit: 2 } as never }, 'concurrency.ttl', /required/],
      [{ concurrency: { limit: 2, ttl: 1, key: 'user' } as never }, 'concurrency.key', /function/],
      [{ concurrency: { limit: 2, ttl: 1, name: 'in "flight"' } }, 'concurrency.name', /1\.\.64/],
      [{ concurrency: 3 as never }, 'concurrency', /an object/],
      [{ concurrency: { limit: 2, ttl: 1 }, window: '1m' }, 'limit', /integer/],
    ];
    for (const [options, field, message] of cases) expect(build(options)).toThrow(refusal(field, message));
  });

  it('needs a limiter that keeps leases', () => {
    // What a MeteredLimiter offers the adapters: checks and refunds, no leases.
    const rateOnly = {
      decide: limiter.decide.bind(limiter),
      decideAll: limiter.decideAll.bind(limiter),
      peekCheck: limiter.peekCheck.bind(limiter),
      resetCounter: limiter.resetCounter.bind(limiter),
      refundCheck: limiter.refundCheck.bind(limiter),
    };
    expect(
      () => new RateLimitCore<unknown>({ limiter: rateOnly, concurrency: { limit: 1, ttl: 1 } }, () => 'a'),
    ).toThrow(refusal('limiter', /RateLimiter/));
  });

  it('stands alone: no limit or window needed', () => {
    expect(build({ concurrency: { limit: 1, ttl: 1 } })).not.toThrow();
    expect(build({})).toThrow(refusal('limit', /give `limit` and `window`/));
  });
});

describe.each(FRAMEWORKS)('$name concurrency when the store is unreachable', (framework) => {
  const dead = new DeadRedisLimiters();
  afterAll(() => dead.closeAll());

  async function app(mode: FailureMode) {
    const limiter = await dead.open(mode);
    return framework.start({ limiter, concurrency: { limit: 1, ttl: '10s' } }, new Gate().work);
  }

  it('closed: 503 store_unavailable, never admitted', async () => {
    const answer = await request(`${await app('closed')}/work`);
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ error: { code: 'store_unavailable' } });
  });

  it('open: admitted without a lease, marked degraded', async () => {
    const url = await app('open');
    for (let i = 0; i < 2; i++) {
      const answer = await request(`${url}/work`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimiter-degraded')).toBe('true');
    }
  });
});

describe('fastify concurrency per route', () => {
  it('with global: false, holds leases only on the route that asks, keyed apart by the route', async () => {
    const limiter = new ObservedLimiter({ store: new MemoryStore() });
    const app = Fastify();
    await app.register(fastifyRateLimit, { limiter, global: false, key: () => 'client' });
    const gate = new Gate();
    const concurrency = { limit: 1, ttl: '10s' };
    app.get('/report', { config: { rateLimiter: { concurrency } } }, async (req) => {
      await gate.work(new URLSearchParams(req.query as Record<string, string>));
      return 'ok';
    });
    app.get('/free', () => 'ok');
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const long = request(`${url}/report?hold`);
      await until(() => Promise.resolve(gate.inFlight === 1), 'the report in its handler');
      expect((await request(`${url}/report`)).status).toBe(429);
      expect((await request(`${url}/free`)).status).toBe(200);
      // The route is in the key's prefix, as for its rate limits.
      expect(await limiter.held('GET/report:client')).toBe(1);
      gate.release();
      expect((await long).status).toBe(200);
      await until(async () => (await limiter.held('GET/report:client')) === 0, 'the lease released');
    } finally {
      await app.close();
    }
  });
});
