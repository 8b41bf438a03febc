// A Fastify app with one encapsulated context per limiter: /ours (our plugin) and /peer
// (@fastify/rate-limit with our store).
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import rateLimit, { FastifyRateLimitStore } from 'ratelimiter-service/fastify';
import { LIMIT, PREFIX, WINDOW_MS, announce, redisLimiter } from './limiter.js';

const limiter = redisLimiter();
const app = Fastify();
await app.register(
  async (ours) => {
    await ours.register(rateLimit, {
      limiter,
      prefix: `${PREFIX}ours:`,
      limit: LIMIT,
      window: WINDOW_MS / 1000,
    });
    ours.get('/ok', () => 'ok');
  },
  { prefix: '/ours' },
);
await app.register(
  async (peer) => {
    await peer.register(fastifyRateLimit, {
      max: LIMIT,
      timeWindow: WINDOW_MS,
      store: FastifyRateLimitStore.using({ limiter, prefix: `${PREFIX}peer:` }),
    });
    peer.get('/ok', () => 'ok');
  },
  { prefix: '/peer' },
);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
announce(url, async () => {
  await app.close();
  await limiter.close();
});
