import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/http/app.js';
import { MeteredLimiter } from '../../../src/metrics/metered-limiter.js';
import { ServiceMetrics } from '../../../src/metrics/metrics.js';
import { MemoryNodeRegistry } from '../../../src/registry/memory-registry.js';
import { ManualClock, MemoryStore, RateLimiter, ServiceStore } from '../../../src/index.js';
import type { FailureMode } from '../../../src/index.js';

const API_TOKEN = 'api-token-for-lease-tests-0123';
const auth = { authorization: `Bearer ${API_TOKEN}` };
const START_US = 1_700_000_000_000_000;

/** The service's app over `limiter`, metered as the service meters it. */
function leaseApp(limiter: RateLimiter, apiToken?: string): Promise<FastifyInstance> {
  const metrics = new ServiceMetrics();
  return buildApp({
    limiter: new MeteredLimiter(limiter, metrics, 'memory'),
    storeKind: 'memory',
    registry: new MemoryNodeRegistry(),
    metrics,
    apiToken,
    version: 'test',
  });
}

describe('lease routes (inject, memory store on a manual clock)', () => {
  let app: FastifyInstance;
  const clock = new ManualClock(START_US);
  let serial = 0;
  const freshKey = () => `lease-route:${++serial}`;

  const acquire = (payload: unknown, headers: Record<string, string> = auth) =>
    app.inject({ method: 'POST', url: '/v1/leases', payload: payload as object, headers });
  const release = (leaseId: string, query: string) =>
    app.inject({ method: 'DELETE', url: `/v1/leases/${leaseId}${query}`, headers: auth });
  const renew = (leaseId: string, payload: unknown) =>
    app.inject({
      method: 'POST',
      url: `/v1/leases/${leaseId}/renew`,
      payload: payload as object,
      headers: auth,
    });

  beforeAll(async () => {
    app = await leaseApp(new RateLimiter({ store: new MemoryStore({ clock }) }), API_TOKEN);
  });

  beforeEach(() => {
    clock.setUs(START_US);
  });

  afterAll(async () => {
    await app.close();
  });

  it('acquires while there is room, with the concurrency headers; being full is a 200', async () => {
    const key = freshKey();
    const first = await acquire({ key, limit: 2, ttl: '10s' });
    expect(first.statusCode).toBe(200);
    const held = first.json<{ leaseId: string }>();
    expect(held).toEqual({
      allowed: true,
      leaseId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) as string,
      limit: 2,
      inFlight: 1,
      remaining: 1,
      retryAfterMs: 0,
      expiresInMs: 10_000,
    });
    expect(first.headers['ratelimit-policy']).toBe('"concurrency";q=2;qu="concurrent-requests"');
    expect(first.headers.ratelimit).toBe('"concurrency";r=1;t=0');
    expect(first.headers['retry-after']).toBeUndefined();

    await acquire({ key, limit: 2, ttl: '10s' });
    clock.advanceMs(2500);
    const full = await acquire({ key, limit: 2, ttl: '10s' });
    expect(full.statusCode).toBe(200);
    expect(full.json()).toEqual({
      allowed: false,
      limit: 2,
      inFlight: 2,
      remaining: 0,
      retryAfterMs: 7500,
      expiresInMs: 0,
    });
    expect(full.headers.ratelimit).toBe('"concurrency";r=0;t=8');
    expect(full.headers['retry-after']).toBe('8');
  });

  it('releases once, by the holder, with the key; the wrong key frees nothing', async () => {
    const key = freshKey();
    const { leaseId } = (await acquire({ key, limit: 1, ttl: 5 })).json<{ leaseId: string }>();
    const wrong = await release(leaseId, `?key=${encodeURIComponent(freshKey())}`);
    expect(wrong.statusCode).toBe(200);
    expect(wrong.json()).toEqual({ released: false, inFlight: 0, limit: 0 });
    expect((await acquire({ key, limit: 1, ttl: 5 })).json()).toMatchObject({ allowed: false });

    const right = await release(leaseId, `?key=${encodeURIComponent(key)}`);
    expect(right.json()).toEqual({ released: true, inFlight: 0, limit: 1 });
    expect((await release(leaseId, `?key=${encodeURIComponent(key)}`)).json()).toEqual({
      released: false,
      inFlight: 0,
      limit: 0,
    });
    expect((await acquire({ key, limit: 1, ttl: 5 })).json()).toMatchObject({ allowed: true });
  });

  it('renews a live lease; an expired one is not revived', async () => {
    const key = freshKey();
    const { leaseId } = (await acquire({ key, limit: 1, ttl: '1s' })).json<{ leaseId: string }>();
    clock.advanceMs(900);
    const renewed = await renew(leaseId, { key, ttl: '2s' });
    expect(renewed.statusCode).toBe(200);
    expect(renewed.json()).toEqual({ renewed: true, expiresInMs: 2000, inFlight: 1, limit: 1 });
    clock.advanceMs(2000);
    expect((await renew(leaseId, { key, ttl: '2s' })).json()).toEqual({
      renewed: false,
      expiresInMs: 0,
      inFlight: 0,
      limit: 0,
    });
  });

  it('refuses bad input with a 400 naming the field, holding nothing', async () => {
    const key = freshKey();
    const field = async (reply: ReturnType<typeof acquire>) => {
      const answered = await reply;
      expect(answered.statusCode).toBe(400);
      return answered.json<{ error: { code: string; field: string } }>().error.field;
    };
    expect(await field(acquire({ key, limit: 2, ttl: '99ms' }))).toBe('ttl');
    expect(await field(acquire({ key, limit: 2, ttl: '2h' }))).toBe('ttl');
    expect(await field(acquire({ key, limit: 2 }))).toBe('ttl');
    expect(await field(acquire({ key, limit: 1_000_001, ttl: 1 }))).toBe('limit');
    expect(await field(acquire({ key, limit: 2, ttl: 1, cost: 3 }))).toBe('cost');
    expect(await field(acquire({ limit: 2, ttl: 1 }))).toBe('key');
    expect(await field(acquire({ key, limit: '2', ttl: 1 }))).toBe('limit');
    expect(await field(acquire({ key, limit: 2, ttl: 1, window: 1 }))).toBe('window');
    const leaseId = 'AAAAAAAAAAAAAAAAAAAAAA';
    expect(await field(release(leaseId, ''))).toBe('key');
    expect(await field(release(leaseId, '?key='))).toBe('key');
    expect(await field(release('not-a-lease', `?key=${key}`))).toBe('leaseId');
    expect(await field(renew('not-a-lease', { key, ttl: 1 }))).toBe('leaseId');
    expect(await field(renew(leaseId, { key, ttl: '61m' }))).toBe('ttl');
    expect(await field(renew(leaseId, { ttl: 1 }))).toBe('key');
    expect((await acquire({ key, limit: 2, ttl: 1, cost: 0 })).json()).toMatchObject({ inFlight: 0 });
  });

  it('needs the API token as /v1/check does', async () => {
    const refused = await acquire({ key: freshKey(), limit: 1, ttl: 1 }, {});
    expect(refused.statusCode).toBe(401);
    const anonymous = await app.inject({ method: 'DELETE', url: '/v1/leases/AAAAAAAAAAAAAAAAAAAAAA?key=k' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('is described by OpenAPI and counted by the metrics', async () => {
    const openapi = await app.inject({ method: 'GET', url: '/openapi.json' });
    const paths = Object.keys(openapi.json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).toEqual(
      expect.arrayContaining(['/v1/leases', '/v1/leases/{leaseId}', '/v1/leases/{leaseId}/renew']),
    );
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/ratelimiter_lease_calls_total\{operation="acquire",outcome="allowed"\} \d+/);
    expect(metrics).toMatch(/ratelimiter_lease_calls_total\{operation="release",outcome="released"\} \d+/);
    expect(metrics).toContain(
      'ratelimiter_decision_duration_seconds_bucket{le="0.0001",operation="acquire"}',
    );
  });
});

describe('lease routes when the store cannot answer (a closed memory store)', () => {
  const apps: FastifyInstance[] = [];

  async function appIn(mode: FailureMode): Promise<FastifyInstance> {
    const store = new MemoryStore();
    await store.close();
    const app = await leaseApp(new RateLimiter({ store, failurePolicy: { mode } }));
    apps.push(app);
    return app;
  }

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  const payload = { key: 'lease-route:down', limit: 3, ttl: '10s' };

  it('open: admitted without a lease, marked degraded; a release is a 503', async () => {
    const app = await appIn('open');
    const admitted = await app.inject({ method: 'POST', url: '/v1/leases', payload });
    expect(admitted.statusCode).toBe(200);
    expect(admitted.json()).toEqual({
      allowed: true,
      limit: 3,
      inFlight: 0,
      remaining: 3,
      retryAfterMs: 0,
      expiresInMs: 0,
      degraded: true,
    });
    expect(admitted.headers['ratelimiter-degraded']).toBe('true');
    const release = await app.inject({
      method: 'DELETE',
      url: '/v1/leases/AAAAAAAAAAAAAAAAAAAAAA?key=lease-route:down',
    });
    expect(release.statusCode).toBe(503);
    expect(release.json()).toMatchObject({ error: { code: 'store_unavailable' } });
  });

  it('closed: a 503, nothing admitted', async () => {
    const app = await appIn('closed');
    const refused = await app.inject({ method: 'POST', url: '/v1/leases', payload });
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ error: { code: 'store_unavailable' } });
  });

  it('to a ServiceStore client a degraded reply is a store failure: its own policy decides', async () => {
    const url = await (await appIn('open')).listen({ host: '127.0.0.1', port: 0 });
    const client = (mode: FailureMode) =>
      new RateLimiter({ store: new ServiceStore({ url, timeoutMs: 5000 }), failurePolicy: { mode } });
    const [closed, local] = [client('closed'), client('local')];
    try {
      await expect(closed.acquire(payload)).rejects.toMatchObject({
        code: 'store_unavailable',
        reason: 'degraded',
      });
      const held = await local.acquire(payload);
      expect(held).toMatchObject({ allowed: true, inFlight: 1, degraded: true });
      // Held in the client's own memory: released there.
      const leaseId = held.leaseId as string;
      expect(await local.release({ key: payload.key, leaseId })).toMatchObject({ released: true });
    } finally {
      await Promise.all([closed.close(), local.close()]);
    }
  });
});
