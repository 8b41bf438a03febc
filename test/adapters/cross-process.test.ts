import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../support/redis-server.js';
import { AppProcess } from './support/app-process.js';
import { burst, tally } from './support/http.js';

const LIMIT = 50;
const REQUESTS = 400;

/**
 * Two app processes of each framework on one Redis, 400 concurrent requests from one client
 * address spread over both: exactly the limit passes, the rest are 429.
 */
describe('exact across processes: two apps on one Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const cases = [
    ['express-app.js', 'ours', 'Express + rateLimit()'],
    ['express-app.js', 'peer', 'Express + express-rate-limit + ExpressRateLimitStore'],
    ['fastify-app.js', 'ours', 'Fastify + our plugin'],
    ['fastify-app.js', 'peer', 'Fastify + @fastify/rate-limit + FastifyRateLimitStore'],
    ['hono-app.js', 'ours', 'Hono + rateLimit()'],
    ['hono-app.js', 'peer', 'Hono + hono-rate-limiter + HonoRateLimiterStore'],
    ['nest-app.js', 'peer', 'Nest + ThrottlerGuard + RateLimiterThrottlerStorage'],
  ] as const;

  for (const [file, mode, name] of cases) {
    it(`${name}: ${LIMIT} of ${REQUESTS} pass`, async () => {
      const env = { REDIS_URL: redis.url, MODE: mode, LIMIT: String(LIMIT), PREFIX: `${file}:${mode}:` };
      const apps = await Promise.all([AppProcess.start(file, env), AppProcess.start(file, env)]);
      try {
        const statuses = (await Promise.all(apps.map((app) => burst(`${app.url}/ok`, REQUESTS / 2)))).flat();
        expect(tally(statuses)).toEqual({ 200: LIMIT, 429: REQUESTS - LIMIT });
      } finally {
        await Promise.all(apps.map((app) => app.stop()));
      }
    });
  }

  it('the control: express-rate-limit on its own MemoryStore lets each process pass the limit', async () => {
    const env = { REDIS_URL: redis.url, MODE: 'peer-memory', LIMIT: String(LIMIT) };
    const apps = await Promise.all([
      AppProcess.start('express-app.js', env),
      AppProcess.start('express-app.js', env),
    ]);
    try {
      const statuses = (await Promise.all(apps.map((app) => burst(`${app.url}/ok`, REQUESTS / 2)))).flat();
      expect(tally(statuses)).toEqual({ 200: 2 * LIMIT, 429: REQUESTS - 2 * LIMIT });
    } finally {
      await Promise.all(apps.map((app) => app.stop()));
    }
  });
});
