/**
 * The baseline of `npm run bench:http`: Fastify parsing the same JSON body on the same route and
 * answering a constant decision. What the service costs above this is the limiter, validation,
 * headers and metrics.
 */
import Fastify from 'fastify';

const DECISION = {
  allowed: true,
  limit: 100,
  remaining: 99,
  count: 1,
  retryAfterMs: 0,
  resetAfterMs: 60_000,
};

const app = Fastify();
app.post('/v1/check', () => DECISION);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`constant server listening at ${url}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
