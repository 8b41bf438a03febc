// An Express app whose one route, GET /slow, is limited by our middleware's concurrency option
// (limit LIMIT, ttl 10s, one key for every client) and forwards each admitted request to
// BACKEND_URL, which holds it and counts what is in flight: the exactness test's app process.
import { createServer, get } from 'node:http';
import process from 'node:process';
import express from 'express';
import { rateLimit } from 'ratelimiter-service/express';
import { LIMIT, PREFIX, announce, redisLimiter } from './limiter.js';

const backend = process.env.BACKEND_URL;
if (!backend) throw new Error('BACKEND_URL is required');
const limiter = redisLimiter();
const app = express();
app.use(
  '/slow',
  rateLimit({ limiter, prefix: PREFIX, concurrency: { limit: LIMIT, ttl: '10s', key: () => 'slow' } }),
);
app.get('/slow', (req, res) => {
  // The lease is held until this response finishes, so the backend sees only admitted requests.
  get(`${backend}${req.url.slice(req.path.length)}`, { agent: false }, (answer) => {
    answer.resume();
    answer.on('end', () => res.status(answer.statusCode ?? 502).send('ok'));
  }).on('error', () => res.status(502).send('backend unreachable'));
});
const server = createServer(app);
server.listen(0, '127.0.0.1', () => {
  announce(`http://127.0.0.1:${server.address().port}`, () => limiter.close());
});
