// An Express app with one route per limiter: /ours (our middleware), /peer (express-rate-limit
// with our store), /peer-memory (express-rate-limit on its own MemoryStore: the control).
import { createServer } from 'node:http';
import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import { ExpressRateLimitStore, rateLimit } from 'ratelimiter-service/express';
import { LIMIT, PREFIX, WINDOW_MS, announce, redisLimiter } from './limiter.js';

const limiter = redisLimiter();
const app = express();
app.use('/ours', rateLimit({ limiter, prefix: `${PREFIX}ours:`, limit: LIMIT, window: WINDOW_MS / 1000 }));
app.use(
  '/peer',
  expressRateLimit({
    windowMs: WINDOW_MS,
    limit: LIMIT,
    store: new ExpressRateLimitStore({ limiter, prefix: `${PREFIX}peer:` }),
  }),
);
app.use('/peer-memory', expressRateLimit({ windowMs: WINDOW_MS, limit: LIMIT }));
for (const route of ['ours', 'peer', 'peer-memory']) app.get(`/${route}/ok`, (_req, res) => res.send('ok'));
const server = createServer(app);
server.listen(0, '127.0.0.1', () => {
  announce(`http://127.0.0.1:${server.address().port}`, () => limiter.close());
});
