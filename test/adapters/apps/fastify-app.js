// A Fastify app limited by our plugin (MODE=ours) or by @fastify/rate-limit with our store (MODE=peer).
import process from 'node:process';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import rateLimit, { FastifyRateLimitStore } from 'ratelimiter-service/fastify';
import { LIMIT, PREFIX, WINDOW_MS, announce, redisLimiter } from './limiter.js';

const limiter = redisLimiter();
const app = Fastify();
if (process.env.MODE === 'peer') {
  await app.register(fastifyRateLimit, {
    max: LIMIT,
    timeWindow: WINDOW_MS,
    store: FastifyRateLimitStore.using({ limiter, prefix: PREFIX }),
  });
} else {
  await app.register(rateLimit, { limiter, prefix: PREFIX, limit: LIMIT, window: WINDOW_MS / 1000 });
}
app.get('/ok', () => 'ok');
const url = await app.listen({ host: '127.0.0.1', port: 0 });
announce(url, async () => {
  await app.close();
  await limiter.close();
});
