import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HonoRateLimiterStore } from '../../src/adapters/hono/index.js';
import { RateLimiter, RedisStore } from '../../src/index.js';
import { RedisServer } from '../../support/redis-server.js';

/**
 * Issue 18.15: with skipFailedRequests the peer calls `decrement` after the handler; when the store
 * hangs then, the failed refund turned the handler's 404 into a 500. A refund that fails follows
 * the failure mode (here: dropped and counted), never the response.
 */
let redis: RedisServer;
let limiter: RateLimiter;
let server: ServerType;
let url: string;
let peerStore: HonoRateLimiterStore;

beforeAll(async () => {
  redis = await RedisServer.start();
  const store = new RedisStore({ url: redis.url, timeoutMs: 100 });
  await store.connection.connected();
  limiter = new RateLimiter({ store, failurePolicy: { mode: 'open' } });
  peerStore = new HonoRateLimiterStore({ limiter });
  const app = new Hono();
  app.use(
    rateLimiter({
      windowMs: 60_000,
      limit: 5,
      keyGenerator: () => 'one-client',
      skipFailedRequests: true,
      store: peerStore,
    }),
  );
  app.get('/missing', (c) => {
    // The store hangs while the handler runs: the decrement that follows cannot reach it.
    redis.pause();
    return c.text('not here', 404);
  });
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => {
      resolve(started);
    });
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  redis.resume();
  await new Promise((resolve) => server.close(resolve));
  await limiter.close();
  await redis.stop();
});

describe('hono-rate-limiter store: a refund that fails', () => {
  it("keeps the handler's response (404, not 500) when the store hangs during the handler", async () => {
    const answer = await fetch(`${url}/missing`);
    redis.resume();
    expect(answer.status).toBe(404);
    expect(await answer.text()).toBe('not here');
    expect(peerStore.lostRefunds).toBe(1);
  });
});
