// A Hono app (on @hono/node-server) with /ours (our middleware) and /peer (hono-rate-limiter with our store).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import { HonoRateLimiterStore, rateLimit } from 'ratelimiter-service/hono';
import { LIMIT, PREFIX, WINDOW_MS, announce, redisLimiter } from './limiter.js';

const limiter = redisLimiter();
const app = new Hono();
app.use('/ours/*', rateLimit({ limiter, prefix: `${PREFIX}ours:`, limit: LIMIT, window: WINDOW_MS / 1000 }));
app.use(
  '/peer/*',
  rateLimiter({
    windowMs: WINDOW_MS,
    limit: LIMIT,
    keyGenerator: (c) => c.env.incoming.socket.remoteAddress,
    store: new HonoRateLimiterStore({ limiter, prefix: `${PREFIX}peer:` }),
  }),
);
for (const route of ['ours', 'peer']) app.get(`/${route}/ok`, (c) => c.text('ok'));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announce(`http://127.0.0.1:${info.port}`, () => {
    server.close();
    return limiter.close();
  });
});
