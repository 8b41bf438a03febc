import { createServer } from 'node:http';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../../src/adapters/express/index.js';
import type { ExpressRateLimitOptions } from '../../src/adapters/express/index.js';
import { RateLimiter, RedisStore } from '../../src/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { closeServer, listenOn, request } from '../support/adapter-http.js';

const servers: ReturnType<typeof createServer>[] = [];
const closeLater: RateLimiter[] = [];

/** A real Express app with our middleware on a real port; `/ok` answers 200. */
async function app(options: ExpressRateLimitOptions) {
  const application = express();
  application.use(rateLimit(options));
  application.get('/ok', (_req, res) => res.json({ ok: true }));
  const server = createServer(application);
  servers.push(server);
  return listenOn(server);
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

afterAll(async () => {
  await Promise.all(closeLater.map((limiter) => limiter.close()));
});

/** A Redis frozen under a burst (its own server: the test stops it with SIGSTOP). */
describe('express rateLimit() when the store sheds load', () => {
  it('overloaded: 503 overloaded with Retry-After, whatever the failure mode, never an admit', async () => {
    const redis = await RedisServer.start();
    try {
      // One call in flight, one check queued: a burst of 30 overflows the limiter's queue.
      const store = new RedisStore({
        url: redis.url,
        timeoutMs: 2000,
        maxBatch: 1,
        maxInFlight: 1,
        maxQueued: 1,
      });
      const limiter = new RateLimiter({ store, failurePolicy: { mode: 'open' } });
      closeLater.push(limiter);
      const url = await app({ limiter, limit: 1000, window: 60 });
      // Redis frozen: the first check stays in flight, the second waits, the rest find the queue full.
      redis.pause();
      const pending = Promise.all(Array.from({ length: 30 }, () => request(`${url}/ok`)));
      setTimeout(() => {
        redis.resume();
      }, 300);
      const answers = await pending;
      const shed = answers.filter((answer) => answer.status === 503);
      expect(shed.length).toBeGreaterThan(0);
      for (const answer of shed) {
        expect(answer.json).toMatchObject({ error: { code: 'overloaded' } });
        expect(answer.headers.get('retry-after')).toBe('1');
      }
      expect(answers.every((answer) => answer.status === 200 || answer.status === 503)).toBe(true);
      expect(answers.some((answer) => answer.headers.get('ratelimiter-degraded') !== null)).toBe(false);
    } finally {
      await redis.stop();
    }
  });
});
