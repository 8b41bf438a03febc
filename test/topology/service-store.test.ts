import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OverloadedError, RateLimiter, ServiceStore, StoreUnavailableError } from '../../src/index.js';
import type { FailureMode } from '../../src/index.js';
import { RedisServer, freePort } from '../../support/redis-server.js';
import { ServiceProcess } from '../../support/service-process.js';

const API_TOKEN = 'api-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
// Loopback HTTP plus the service's own Redis call, on a 2-core machine shared with other suites.
const TIMEOUT_MS = 1000;

let redis: RedisServer;
let port: number;
let service: ServiceProcess;
const limiters: RateLimiter[] = [];

async function startService(): Promise<ServiceProcess> {
  // The service's own Redis timeout is generous: on a loaded machine these tests are about the client.
  const args = [
    '--port',
    String(port),
    '--redis',
    redis.url,
    '--failure-mode',
    'closed',
    '--store-timeout-ms',
    '1000',
  ];
  return ServiceProcess.start(args, {
    RATELIMITER_API_TOKEN: API_TOKEN,
    RATELIMITER_ADMIN_TOKEN: ADMIN_TOKEN,
  });
}

function limiterOnService(
  mode: FailureMode = 'closed',
  extra: { batch?: boolean; token?: string } = {},
): RateLimiter {
  const store = new ServiceStore({
    url: `http://127.0.0.1:${port}`,
    token: extra.token ?? API_TOKEN,
    adminToken: ADMIN_TOKEN,
    timeoutMs: TIMEOUT_MS,
    ...(extra.batch === undefined ? {} : { batch: extra.batch }),
  });
  const limiter = new RateLimiter({ store, failurePolicy: { mode } });
  limiters.push(limiter);
  return limiter;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  port = await freePort();
  service = await startService();
});

afterAll(async () => {
  await Promise.all(limiters.map((limiter) => limiter.close()));
  await service.stop();
  await redis.stop();
});

let serial = 0;
const freshKey = (label: string) => `service-store:${label}:${++serial}`;

describe('ServiceStore against a real `ratelimiter serve`', () => {
  it('decides like the library on Redis: check, peek, reset', async () => {
    const limiter = limiterOnService();
    const key = freshKey('basic');
    const first = await limiter.check({ key, limit: 2, window: '10s' });
    expect(first).toMatchObject({ allowed: true, remaining: 1, count: 1, retryAfterMs: 0, windowMs: 10_000 });
    await limiter.check({ key, limit: 2, window: '10s' });
    const denied = await limiter.check({ key, limit: 2, window: '10s' });
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(9000);
    expect((await limiter.peek({ key, limit: 2, window: '10s' })).count).toBe(2);
    await limiter.reset({ key, window: '10s' });
    expect((await limiter.peek({ key, limit: 2, window: '10s' })).count).toBe(0);
  });

  it.each([false, true])('is exact under concurrency (batch: %s): 50 of 300 pass', async (batch) => {
    const limiter = limiterOnService('closed', { batch });
    const key = freshKey(`burst-${batch}`);
    const decisions = await Promise.all(
      Array.from({ length: 300 }, () => limiter.check({ key, limit: 50, window: 60 })),
    );
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(50);
  });

  it('checkMany in chunks the service accepts, checkAll atomically', async () => {
    const limiter = limiterOnService();
    const keys = Array.from({ length: 150 }, (_, i) => freshKey(`many-${i}`));
    const decisions = await limiter.checkMany(keys.map((key) => ({ key, limit: 1, window: 60 })));
    expect(decisions.every((decision) => decision.allowed)).toBe(true);
    const key = freshKey('all');
    const all = await limiter.checkAll([
      { key, limit: 5, window: '1s' },
      { key, limit: 1, window: '1h', algorithm: 'token-bucket' },
    ]);
    expect(all.allowed).toBe(true);
    const second = await limiter.checkAll([
      { key, limit: 5, window: '1s' },
      { key, limit: 1, window: '1h', algorithm: 'token-bucket' },
    ]);
    expect(second.allowed).toBe(false);
    expect((await limiter.peek({ key, limit: 5, window: '1s' })).count).toBe(1);
  });

  it('refunds through POST /v1/refund: newest units back, never below zero', async () => {
    const limiter = limiterOnService();
    const key = freshKey('refund');
    await limiter.check({ key, limit: 10, window: 60, cost: 3 });
    const refunded = await limiter.refund({ key, limit: 10, window: 60, cost: 2 });
    expect(refunded).toMatchObject({ allowed: true, count: 1, remaining: 9 });
    expect((await limiter.refund({ key, limit: 10, window: 60, cost: 5 })).count).toBe(0);
  });

  it('POST /v1/refund: the API token, the error shape, and OpenAPI', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const key = freshKey('route');
    await service.postJson('/v1/check', { key, limit: 5, window: '1m', cost: 2 }, auth);
    const answer = await service.postJson('/v1/refund', { key, limit: 5, window: '1m' }, auth);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit')).toBe('"default";r=4;t=60');
    expect(await answer.json()).toMatchObject({ allowed: true, count: 1, remaining: 4 });
    const unauthorized = await service.postJson('/v1/refund', { key, limit: 5, window: '1m' });
    expect(unauthorized.status).toBe(401);
    const bad = await service.postJson('/v1/refund', { key, limit: 5, window: '1m', cost: -1 }, auth);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'cost' } });
    const unknown = await service.postJson('/v1/refund', { key, limit: 5, window: '1m', units: 1 }, auth);
    expect(await unknown.json()).toMatchObject({ error: { field: 'units' } });
    const openapi = (await (await service.fetch('/openapi.json')).json()) as {
      paths: Record<string, unknown>;
    };
    expect(openapi.paths).toHaveProperty('/v1/refund');
  });

  it('a service shedding load (503 overloaded) is an OverloadedError, never admitted by open mode', async () => {
    const frozen = await RedisServer.start();
    const busy = await ServiceProcess.start([
      '--redis',
      frozen.url,
      '--max-in-flight',
      '1',
      '--store-timeout-ms',
      '3000',
    ]);
    const store = new ServiceStore({ url: busy.url, timeoutMs: TIMEOUT_MS, batch: false });
    const limiter = new RateLimiter({ store, failurePolicy: { mode: 'open' } });
    try {
      // A hung Redis holds one check in the service: its only place is taken, the rest are shed.
      frozen.pause();
      const held = busy.postJson('/v1/check', { key: 'held', limit: 5, window: 60 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          limiter.check({ key: freshKey('shed'), limit: 5, window: 60 }).catch((error: unknown) => error),
        ),
      );
      expect(answers.every((answer) => answer instanceof OverloadedError)).toBe(true);
      expect(answers[0]).toMatchObject({ code: 'overloaded', retryAfterMs: 1000 });
      frozen.resume();
      expect((await held).status).toBe(200);
    } finally {
      frozen.resume();
      await limiter.close();
      await busy.stop();
      await frozen.stop();
    }
  });

  it("this process's own event-loop lag is never charged to the service", async () => {
    // A 120 ms budget; the app then blocks its loop for 300 ms while the reply is on its way. A
    // plain per-call timer fires first after such a block and reported the service as slow (all 10
    // degraded and admitted in open mode, against a limit of 5).
    const store = new ServiceStore({ url: `http://127.0.0.1:${port}`, token: API_TOKEN, timeoutMs: 120 });
    const limiter = new RateLimiter({ store, failurePolicy: { mode: 'open' } });
    limiters.push(limiter);
    const key = freshKey('lag');
    await limiter.check({ key: freshKey('lag-warm'), limit: 5, window: 60 });
    const answers = Promise.all(
      Array.from({ length: 10 }, () => limiter.check({ key, limit: 5, window: 60 })),
    );
    // The coalescer sends at setImmediate: block right after the request is written.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const busyUntil = performance.now() + 300;
    while (performance.now() < busyUntil) {
      // The application is busy (a synchronous handler, a GC pause).
    }
    const decisions = await answers;
    expect(decisions.filter((decision) => decision.degraded === true)).toHaveLength(0);
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5);
  });

  it('a burst of 50,000 checks at once waits in the bounded queue: exactly the limit, none degraded', async () => {
    // Sent all at once, the calls waited for a socket until they timed out (even at a 1 s budget),
    // and open mode admitted them; now the excess waits in the coalescer, where it is measured,
    // and past the queue's bounds it is refused as overloaded, never admitted.
    const store = new ServiceStore({
      url: `http://127.0.0.1:${port}`,
      token: API_TOKEN,
      timeoutMs: TIMEOUT_MS,
    });
    const limiter = new RateLimiter({ store, failurePolicy: { mode: 'open' } });
    limiters.push(limiter);
    const key = freshKey('burst');
    const answers = await Promise.all(
      Array.from({ length: 50_000 }, () =>
        limiter.check({ key, limit: 100, window: 60 }).catch((error: unknown) => error),
      ),
    );
    const decisions = answers.filter((answer) => !(answer instanceof Error)) as {
      allowed: boolean;
      degraded?: true;
    }[];
    const errors = answers.filter((answer) => answer instanceof Error);
    expect(decisions.filter((decision) => decision.degraded === true)).toHaveLength(0);
    expect(errors.every((error) => error instanceof OverloadedError)).toBe(true);
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(100);
  });

  it('a refused token is a loud error, never an outage the failure policy would admit', async () => {
    const limiter = limiterOnService('open', { token: 'wrong-token-0123456789' });
    const error = await limiter
      .check({ key: freshKey('token'), limit: 1, window: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StoreUnavailableError);
    expect(String(error)).toMatch(/401/);
    expect(String(error)).not.toContain('wrong-token');
  });

  it('stopped and restarted under traffic: fails fast (closed) or degrades (open), then decides again', async () => {
    const closed = limiterOnService('closed');
    const open = limiterOnService('open');
    const key = freshKey('restart');
    const seen = { decided: 0, unavailable: 0, degraded: 0, slowestMs: 0, other: [] as unknown[] };
    let running = true;
    const traffic = async (limiter: RateLimiter) => {
      // Bounded: at most 20,000 calls, and the loop ends when the restart is over.
      for (let i = 0; running && i < 20_000; i++) {
        const started = performance.now();
        try {
          const decision = await limiter.check({
            key,
            limit: 1_000_000,
            window: 60,
            algorithm: 'fixed-window',
          });
          if (decision.degraded === true) seen.degraded++;
          else seen.decided++;
        } catch (error) {
          if (error instanceof StoreUnavailableError) seen.unavailable++;
          else seen.other.push(error);
        }
        seen.slowestMs = Math.max(seen.slowestMs, performance.now() - started);
        if (seen.unavailable + seen.degraded > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    const clients = [traffic(closed), traffic(closed), traffic(open), traffic(open)];
    try {
      await waitFor(() => seen.decided > 50, 'traffic before the stop');
      await service.stop();
      await waitFor(() => seen.unavailable > 5 && seen.degraded > 5, 'failures while the service is down');
      const before = seen.decided;
      service = await startService();
      await waitFor(() => seen.decided > before + 50, 'decisions after the restart');
    } finally {
      running = false;
      await Promise.all(clients);
    }
    expect(seen.other).toEqual([]);
    // Every call was bounded by the timeout (with slack for a loaded machine), none hung.
    expect(seen.slowestMs).toBeLessThan(TIMEOUT_MS + 1000);
  });
});

async function waitFor(probe: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
