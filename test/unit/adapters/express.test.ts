import { createServer } from 'node:http';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../../../src/adapters/express/index.js';
import type { ExpressRateLimitOptions } from '../../../src/adapters/express/index.js';
import type { FailureMode } from '../../../src/index.js';
import {
  DeadRedisLimiters,
  burst,
  closeServer,
  listenOn,
  memoryLimiter,
  request,
  tally,
  until,
} from '../../support/adapter-http.js';

const servers: ReturnType<typeof createServer>[] = [];

/** A real Express app with our middleware on a real port; `/fail` answers 500, `/ok` 200. */
async function app(options: ExpressRateLimitOptions, configure?: (app: express.Express) => void) {
  const application = express();
  configure?.(application);
  application.use(rateLimit(options));
  application.get('/ok', (_req, res) => res.json({ ok: true }));
  application.get('/fail', (_req, res) => res.status(500).json({ ok: false }));
  const server = createServer(application);
  servers.push(server);
  return listenOn(server);
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

describe('express rateLimit()', () => {
  it("draft-11's t is the wait of a denial, draft-10's when the counter is empty", async () => {
    const { limiter, clock } = memoryLimiter();
    const draft11 = await app({ limiter, limit: 2, window: '10s', prefix: 'a:' });
    const draft10 = await app({ limiter, limit: 2, window: '10s', prefix: 'b:', headers: 'draft-10' });
    for (const url of [draft11, draft10]) await request(`${url}/ok`);
    clock.advanceMs(4000);
    for (const url of [draft11, draft10]) await request(`${url}/ok`);
    // The older unit leaves in 6 s, the newer one in 10 s.
    expect((await request(`${draft11}/ok`)).headers.get('ratelimit')).toBe('"default";r=0;t=6');
    expect((await request(`${draft10}/ok`)).headers.get('ratelimit')).toBe('"default";r=0;t=10');
  });

  it('answers with an RFC 9457 problem when asked', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({
      limiter,
      limits: [
        { limit: 1, window: '1m', name: 'per-minute' },
        { limit: 100, window: '1h', name: 'per-hour' },
      ],
      problemDetails: true,
    });
    await request(`${url}/ok`);
    const denied = await request(`${url}/ok`);
    expect(denied.status).toBe(429);
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(denied.json).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Request cannot be satisfied as assigned quota has been exceeded',
      status: 429,
      detail: 'too many requests: retry in 60 s',
      'violated-policies': ['per-minute'],
    });
  });

  it('admits exactly the limit, then answers 429 with our error body and Retry-After', async () => {
    const { limiter, clock } = memoryLimiter();
    const url = await app({ limiter, limit: 3, window: '10s' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(`${url}/ok`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const denied = await request(`${url}/ok`);
    expect(denied.json).toEqual({
      error: { code: 'rate_limited', message: 'too many requests: retry in 10 s' },
    });
    expect(denied.headers.get('retry-after')).toBe('10');
    expect(denied.headers.get('ratelimit')).toBe('"default";r=0;t=10');
    clock.advanceMs(10_000);
    expect((await request(`${url}/ok`)).status).toBe(200);
  });

  it('sends draft-11 headers by default, draft-10, legacy, both or none on request', async () => {
    const cases = [
      ['draft-11', ['ratelimit-policy', 'ratelimit'], ['x-ratelimit-limit']],
      ['draft-10', ['ratelimit-policy', 'ratelimit'], ['x-ratelimit-limit']],
      ['legacy', ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'], ['ratelimit']],
      ['both', ['ratelimit-policy', 'ratelimit', 'x-ratelimit-limit'], []],
      [false, [], ['ratelimit', 'x-ratelimit-limit', 'retry-after']],
    ] as const;
    for (const [headers, present, absent] of cases) {
      const { limiter } = memoryLimiter();
      const url = await app({ limiter, limit: 1, window: 60, headers });
      await request(`${url}/ok`);
      const answer = await request(`${url}/ok`);
      expect(answer.status).toBe(429);
      for (const name of present)
        expect(answer.headers.get(name), `${String(headers)}: ${name}`).not.toBeNull();
      for (const name of absent) expect(answer.headers.get(name), `${String(headers)}: ${name}`).toBeNull();
    }
    const { limiter } = memoryLimiter();
    const url = await app({ limiter, limit: 5, window: 60, headers: 'legacy' });
    const answer = await request(`${url}/ok`);
    expect(answer.headers.get('x-ratelimit-limit')).toBe('5');
    expect(answer.headers.get('x-ratelimit-remaining')).toBe('4');
    const reset = Number(answer.headers.get('x-ratelimit-reset'));
    expect(Math.abs(reset - (Date.now() / 1000 + 60))).toBeLessThan(5);
    const draft = await request(`${url.replace(/\/$/, '')}/ok`);
    expect(draft.headers.get('ratelimit-policy')).toBeNull();
  });

  it('takes statusCode, message and onLimited', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({ limiter, limit: 1, window: 60, statusCode: 503, message: 'slow down' });
    await request(`${url}/ok`);
    const denied = await request(`${url}/ok`);
    expect([denied.status, denied.text]).toEqual([503, 'slow down']);
    const custom = await app({
      limiter: memoryLimiter().limiter,
      limit: 1,
      window: 60,
      onLimited: (_req, res, _next, admission) =>
        res.status(418).json({ left: admission.decisions[0]?.remaining }),
    });
    await request(`${custom}/ok`);
    const teapot = await request(`${custom}/ok`);
    expect([teapot.status, teapot.json]).toEqual([418, { left: 0 }]);
  });

  it('skips what skip() says, keys by key(), charges cost()', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({
      limiter,
      limit: 10,
      window: 60,
      key: (req) => req.get('x-user') ?? 'anonymous',
      cost: (req) => Number(req.query.cost ?? 1),
      skip: (req) => req.get('x-internal') === 'yes',
    });
    expect((await request(`${url}/ok?cost=10`, { headers: { 'x-user': 'a' } })).status).toBe(200);
    expect((await request(`${url}/ok`, { headers: { 'x-user': 'a' } })).status).toBe(429);
    expect((await request(`${url}/ok`, { headers: { 'x-user': 'a', 'x-internal': 'yes' } })).status).toBe(
      200,
    );
    expect((await request(`${url}/ok`, { headers: { 'x-user': 'b' } })).status).toBe(200);
    // A cost above the limit can never pass: a denial, not an error.
    expect((await request(`${url}/ok?cost=11`, { headers: { 'x-user': 'c' } })).status).toBe(429);
    // A cost the contract refuses is the client's fault: 400 naming it, never a 500.
    const bad = await request(`${url}/ok?cost=-1`, { headers: { 'x-user': 'c' } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: 'invalid_argument', field: 'cost' } });
    const long = await request(`${url}/ok`, { headers: { 'x-user': 'k'.repeat(600) } });
    expect(long.status).toBe(400);
    expect(long.json).toMatchObject({ error: { field: 'key' } });
  });

  it('checks several limits atomically: a denial by one records nothing in the others', async () => {
    const { limiter } = memoryLimiter();
    const url = await app({
      limiter,
      limits: [
        { limit: 2, window: '1s', name: 'burst' },
        { limit: 3, window: '1h', name: 'hourly' },
      ],
    });
    const first = await request(`${url}/ok`);
    expect(first.headers.get('ratelimit-policy')).toBe('"burst";q=2;w=1, "hourly";q=3;w=3600');
    expect((await request(`${url}/ok`)).status).toBe(200);
    expect((await request(`${url}/ok`)).status).toBe(429);
    const hourly = await limiter.peek({ key: '127.0.0.1', limit: 3, window: '1h' });
    expect(hourly.count).toBe(2);
  });

  it('gives the units of failed requests back with skipFailedRequests, of good ones with skipSuccessfulRequests', async () => {
    const failed = memoryLimiter();
    const url = await app({ limiter: failed.limiter, limit: 2, window: 60, skipFailedRequests: true });
    for (let i = 0; i < 5; i++) expect((await request(`${url}/fail`)).status).toBe(500);
    await until(
      async () => (await failed.limiter.peek({ key: '127.0.0.1', limit: 2, window: 60 })).count === 0,
      'refunds',
    );
    expect((await request(`${url}/ok`)).status).toBe(200);
    expect((await request(`${url}/ok`)).status).toBe(200);
    // Denied requests (429 is a failure) recorded nothing and give nothing back.
    expect((await request(`${url}/ok`)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await failed.limiter.peek({ key: '127.0.0.1', limit: 2, window: 60 })).count).toBe(2);

    const good = memoryLimiter();
    const url2 = await app({ limiter: good.limiter, limit: 2, window: 60, skipSuccessfulRequests: true });
    for (let i = 0; i < 4; i++) expect((await request(`${url2}/ok`)).status).toBe(200);
    await until(
      async () => (await good.limiter.peek({ key: '127.0.0.1', limit: 2, window: 60 })).count === 0,
      'refunds',
    );
    await request(`${url2}/fail`);
    await request(`${url2}/fail`);
    expect((await request(`${url2}/ok`)).status).toBe(429);
  });

  it('keys by req.ip: X-Forwarded-For is ignored unless trust proxy says otherwise', async () => {
    const plain = memoryLimiter();
    const url = await app({ limiter: plain.limiter, limit: 1, window: 60 });
    expect((await request(`${url}/ok`, { headers: { 'x-forwarded-for': '1.1.1.1' } })).status).toBe(200);
    // A client cannot dodge the limit by sending another X-Forwarded-For.
    expect((await request(`${url}/ok`, { headers: { 'x-forwarded-for': '2.2.2.2' } })).status).toBe(429);

    const proxied = memoryLimiter();
    const behindProxy = await app({ limiter: proxied.limiter, limit: 1, window: 60 }, (application) =>
      application.set('trust proxy', 'loopback'),
    );
    expect((await request(`${behindProxy}/ok`, { headers: { 'x-forwarded-for': '1.1.1.1' } })).status).toBe(
      200,
    );
    expect((await request(`${behindProxy}/ok`, { headers: { 'x-forwarded-for': '2.2.2.2' } })).status).toBe(
      200,
    );
    expect((await request(`${behindProxy}/ok`, { headers: { 'x-forwarded-for': '1.1.1.1' } })).status).toBe(
      429,
    );
  });

  it('counts an IPv6 client by its /56 (one client owns the subnet), or by its address with ipv6Subnet: false', async () => {
    const behindProxy = (ipv6Subnet?: false) =>
      app(
        {
          limiter: memoryLimiter().limiter,
          limit: 1,
          window: 60,
          ...(ipv6Subnet === false ? { ipv6Subnet } : {}),
        },
        (application) => application.set('trust proxy', 'loopback'),
      );
    const from = (url: string, address: string) =>
      request(`${url}/ok`, { headers: { 'x-forwarded-for': address } });
    const url = await behindProxy();
    expect((await from(url, '2001:db8:abcd:1200::1')).status).toBe(200);
    expect((await from(url, '2001:db8:abcd:12ff::2')).status).toBe(429);
    expect((await from(url, '2001:db8:abcd:1300::1')).status).toBe(200);
    const exact = await behindProxy(false);
    expect((await from(exact, '2001:db8:abcd:1200::1')).status).toBe(200);
    expect((await from(exact, '2001:db8:abcd:1200::2')).status).toBe(200);
  });

  it('refuses bad options when it is built, not on a request', () => {
    const { limiter } = memoryLimiter();
    expect(() => rateLimit({ limiter, limit: -1, window: 60 })).toThrow(/limit/);
    expect(() => rateLimit({ limiter, limit: 1, window: 'soon' })).toThrow(/window/);
    expect(() => rateLimit({ limiter, limit: 1, window: 1, statusCode: 200 })).toThrow(/statusCode/);
    expect(() => rateLimit({ limiter, limit: 1, window: 1, headers: 'draft-7' as never })).toThrow(/headers/);
    expect(() => rateLimit({ limiter, limit: 1, window: 1, ipv6Subnet: 0 })).toThrow(/ipv6Subnet/);
  });

  describe('when the store is unreachable', () => {
    const dead = new DeadRedisLimiters();
    afterAll(async () => {
      await dead.closeAll();
    });

    async function appOnDeadRedis(mode: FailureMode, extra: Partial<ExpressRateLimitOptions> = {}) {
      const limiter = await dead.open(mode);
      return app({ limiter, limit: 2, window: 60, ...extra });
    }

    it('closed: 503 store_unavailable by default, or the error to Express with onError', async () => {
      const url = await appOnDeadRedis('closed');
      const answer = await request(`${url}/ok`);
      expect(answer.status).toBe(503);
      expect(answer.json).toMatchObject({ error: { code: 'store_unavailable' } });
      expect(answer.text).not.toMatch(/127\.0\.0\.1/);
      const handed = await appOnDeadRedis('closed', {
        onError: (error, _req, _res, next) => {
          next(error);
        },
      });
      expect((await request(`${handed}/ok`)).status).toBe(500);
    });

    it('open: admitted, marked degraded', async () => {
      const url = await appOnDeadRedis('open');
      const statuses = await burst(`${url}/ok`, 5);
      expect(tally(statuses)).toEqual({ 200: 5 });
      expect((await request(`${url}/ok`)).headers.get('ratelimiter-degraded')).toBe('true');
    });

    it('local: decided in process on the share of this node, marked degraded', async () => {
      const url = await appOnDeadRedis('local');
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await request(`${url}/ok`)).status);
      expect(statuses).toEqual([200, 200, 429]);
    });
  });
});
