// An Express app limited by ours (MODE=ours) or by express-rate-limit with our store (MODE=peer).
import process from 'node:process';
import { createServer } from 'node:http';
import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import { ExpressRateLimitStore, rateLimit } from 'ratelimiter-service/express';
import { LIMIT, PREFIX, WINDOW_MS, announce, redisLimiter } from './limiter.js';

const limiter = redisLimiter();
const app = express();
const middleware = {
  ours: () => rateLimit({ limiter, prefix: PREFIX, limit: LIMIT, window: WINDOW_MS / 1000 }),
  peer: () =>
    expressRateLimit({
      windowMs: WINDOW_MS,
      limit: LIMIT,
      store: new ExpressRateLimitStore({ limiter, prefix: PREFIX }),
    }),
  // The control: express-rate-limit's own MemoryStore counts per process.
  'peer-memory': () => expressRateLimit({ windowMs: WINDOW_MS, limit: LIMIT }),
};
app.use(middleware[process.env.MODE ?? 'ours']());
app.get('/ok', (_req, res) => res.send('ok'));
const server = createServer(app);
server.listen(0, '127.0.0.1', () => {
  announce(`http://127.0.0.1:${server.address().port}`, () => limiter.close());
});
