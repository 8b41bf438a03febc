/**
 * One app of `npm run bench:middleware`, in its own process: FRAMEWORK (express | fastify) with
 * LIMITER (none, ours on memory or Redis, or the peer library on its own local or Redis store).
 * Every limited app keys by the `x-key` header, so each target does the same work.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyRateLimit from '@fastify/rate-limit';
import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import { rateLimit as ourExpress } from '../src/adapters/express/index.js';
import ourFastify from '../src/adapters/fastify/index.js';
import { MemoryStore, RateLimiter, RedisStore } from '../src/index.js';

const LIMIT = 100;
const WINDOW_MS = 60_000;
const framework = process.env.FRAMEWORK ?? 'express';
const limiterKind = process.env.LIMITER ?? 'none';
const redisUrl = process.env.REDIS_URL ?? '';

const keyOf = (headers: Record<string, string | string[] | undefined>) => String(headers['x-key'] ?? 'none');

function ourLimiter(): RateLimiter {
  const store = limiterKind.startsWith('ours-redis')
    ? new RedisStore({ url: redisUrl, timeoutMs: 1000 })
    : new MemoryStore();
  return new RateLimiter({ store });
}

const algorithm = limiterKind === 'ours-redis-fixed' ? 'fixed-window' : 'sliding-window-log';

async function expressApp(): Promise<string> {
  const app = express();
  if (limiterKind.startsWith('ours')) {
    app.use(
      ourExpress({
        limiter: ourLimiter(),
        limit: LIMIT,
        window: WINDOW_MS / 1000,
        algorithm,
        key: (req) => keyOf(req.headers),
      }),
    );
  } else if (limiterKind === 'peer-memory') {
    app.use(
      expressRateLimit({ windowMs: WINDOW_MS, limit: LIMIT, keyGenerator: (req) => keyOf(req.headers) }),
    );
  } else if (limiterKind === 'peer-redis') {
    const client = new Redis(redisUrl);
    const store = new RateLimitRedisStore({
      sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<number>,
    });
    app.use(
      expressRateLimit({
        windowMs: WINDOW_MS,
        limit: LIMIT,
        keyGenerator: (req) => keyOf(req.headers),
        store,
      }),
    );
  }
  app.get('/', (_req, res) => res.json({ ok: true }));
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function fastifyApp(): Promise<string> {
  const app = Fastify();
  if (limiterKind.startsWith('ours')) {
    await app.register(ourFastify, {
      limiter: ourLimiter(),
      limit: LIMIT,
      window: WINDOW_MS / 1000,
      algorithm,
      key: (request) => keyOf(request.headers),
    });
  } else if (limiterKind === 'peer-memory' || limiterKind === 'peer-redis') {
    await app.register(fastifyRateLimit, {
      max: LIMIT,
      timeWindow: WINDOW_MS,
      keyGenerator: (request) => keyOf(request.headers),
      ...(limiterKind === 'peer-redis' ? { redis: new Redis(redisUrl) } : {}),
    });
  }
  app.get('/', () => ({ ok: true }));
  return app.listen({ host: '127.0.0.1', port: 0 });
}

const url = framework === 'fastify' ? await fastifyApp() : await expressApp();
process.stdout.write(`listening at ${url}\n`);
process.once('SIGTERM', () => process.exit(0));
