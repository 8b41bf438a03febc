import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/http/app.js';
import { MeteredLimiter } from '../../../src/metrics/metered-limiter.js';
import { ServiceMetrics } from '../../../src/metrics/metrics.js';
import { MemoryNodeRegistry } from '../../../src/registry/memory-registry.js';
import { MemoryStore, RateLimiter } from '../../../src/index.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

describe('buildApp (inject, memory store)', () => {
  let app: FastifyInstance;
  const registry = new MemoryNodeRegistry();

  beforeAll(async () => {
    const metrics = new ServiceMetrics();
    const limiter = new MeteredLimiter(new RateLimiter({ store: new MemoryStore() }), metrics, 'memory');
    app = await buildApp({
      limiter,
      storeKind: 'memory',
      registry,
      metrics,
      adminToken: ADMIN_TOKEN,
      version: 'test',
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers a check with the decision and the ratelimit headers', async () => {
    const allowed = await app.inject({
      method: 'POST',
      url: '/v1/check',
      payload: { key: 'inject:a', limit: 1, window: '1m' },
    });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toEqual({
      allowed: true,
      limit: 1,
      remaining: 0,
      count: 1,
      retryAfterMs: 0,
      resetAfterMs: 60_000,
    });
    expect(allowed.headers['ratelimit-policy']).toBe('"default";q=1;w=60');
    expect(allowed.headers.ratelimit).toBe('"default";r=0;t=60');
    expect(allowed.headers['retry-after']).toBeUndefined();

    const denied = await app.inject({
      method: 'POST',
      url: '/v1/check',
      payload: { key: 'inject:a', limit: 1, window: '1m' },
    });
    expect(denied.statusCode).toBe(200);
    expect(denied.json<{ allowed: boolean }>().allowed).toBe(false);
    expect(Number(denied.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('decides a batch independently and names the failing check of a bad one', async () => {
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/checks',
      payload: {
        checks: [
          { key: 'inject:b', limit: 1, window: 10 },
          { key: 'inject:b', limit: 1, window: 10 },
        ],
      },
    });
    expect(batch.statusCode).toBe(200);
    const body = batch.json<{ allowed: boolean; results: { allowed: boolean }[] }>();
    expect(body.allowed).toBe(false);
    expect(body.results.map((result) => result.allowed)).toEqual([true, false]);
    expect(batch.headers['ratelimit-policy']).toBe('"check-0";q=1;w=10, "check-1";q=1;w=10');

    const bad = await app.inject({
      method: 'POST',
      url: '/v1/checks',
      payload: {
        checks: [
          { key: 'x', limit: 1, window: 1 },
          { key: 'y', limit: 1, window: 1, cost: 2 },
        ],
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'checks[1].cost' } });
  });

  it('peeks without spending and resets with the admin token only', async () => {
    await app.inject({
      method: 'POST',
      url: '/v1/check',
      payload: { key: 'inject:c', limit: 5, window: 60 },
    });
    const peek = await app.inject({ method: 'GET', url: '/v1/counters/inject:c?limit=5&window=60' });
    expect(peek.json()).toMatchObject({ allowed: true, count: 1, remaining: 4 });

    const unauthorized = await app.inject({ method: 'DELETE', url: '/v1/counters/inject:c?window=60' });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['www-authenticate']).toBe('Bearer');

    const reset = await app.inject({
      method: 'DELETE',
      url: '/v1/counters/inject:c?window=60',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(reset.statusCode).toBe(204);
    const after = await app.inject({ method: 'GET', url: '/v1/counters/inject:c?limit=5&window=60' });
    expect(after.json()).toMatchObject({ count: 0, remaining: 5 });
  });

  it('lists the nodes of the registry', async () => {
    await registry.announce(
      {
        id: 'n1',
        host: '127.0.0.1',
        httpPort: 1,
        version: 'test',
        store: 'memory',
        startedAt: new Date().toISOString(),
      },
      60_000,
    );
    const nodes = await app.inject({ method: 'GET', url: '/v1/nodes' });
    expect(nodes.json<{ nodes: { id: string }[] }>().nodes.map((node) => node.id)).toEqual(['n1']);
  });

  it('serves OpenAPI, the docs page, health, readiness and metrics', async () => {
    const openapi = await app.inject({ method: 'GET', url: '/openapi.json' });
    const paths = Object.keys(openapi.json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).toEqual(
      expect.arrayContaining(['/v1/check', '/v1/checks', '/v1/counters/{key}', '/v1/nodes', '/readyz']),
    );
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
      status: 'ready',
      store: 'memory',
    });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain(
      'ratelimiter_decisions_total{algorithm="sliding-window-log",outcome="allowed"}',
    );
    expect(metrics.body).toContain('ratelimiter_decision_duration_seconds_bucket');
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
  });
});
