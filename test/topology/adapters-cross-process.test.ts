import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { AppProcess } from '../support/app-process.js';
import { burst, tally } from '../support/adapter-http.js';

const LIMIT = 50;
const REQUESTS = 400;

/**
 * Two app processes of each framework on one Redis, 400 concurrent requests from one client
 * address spread over both: exactly the limit passes, the rest are 429. Each app serves one route
 * per limiter (our middleware, the peer library with our store), each counting under its own
 * prefix, so one pair of processes per framework serves every case.
 */
const FRAMEWORKS = [
  [
    'express-app.js',
    'Express',
    [
      ['ours', 'rateLimit()'],
      ['peer', 'express-rate-limit + ExpressRateLimitStore'],
    ],
  ],
  [
    'fastify-app.js',
    'Fastify',
    [
      ['ours', 'our plugin'],
      ['peer', '@fastify/rate-limit + FastifyRateLimitStore'],
    ],
  ],
  [
    'hono-app.js',
    'Hono',
    [
      ['ours', 'rateLimit()'],
      ['peer', 'hono-rate-limiter + HonoRateLimiterStore'],
    ],
  ],
  ['nest-app.js', 'Nest', [['peer', 'ThrottlerGuard + RateLimiterThrottlerStorage']]],
] as const;

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis.stop();
});

for (const [file, framework, routes] of FRAMEWORKS) {
  describe(`exact across processes: two ${framework} apps on one Redis`, () => {
    let apps: AppProcess[] = [];
    beforeAll(async () => {
      const env = { REDIS_URL: redis.url, LIMIT: String(LIMIT), PREFIX: `${framework}:` };
      apps = await Promise.all([AppProcess.start(file, env), AppProcess.start(file, env)]);
    });
    afterAll(async () => {
      await Promise.all(apps.map((app) => app.stop()));
    });

    const spread = async (route: string) =>
      tally((await Promise.all(apps.map((app) => burst(`${app.url}/${route}/ok`, REQUESTS / 2)))).flat());

    for (const [route, name] of routes) {
      it(`${name}: ${LIMIT} of ${REQUESTS} pass`, async () => {
        expect(await spread(route)).toEqual({ 200: LIMIT, 429: REQUESTS - LIMIT });
      });
    }

    if (framework === 'Express') {
      it("the control: express-rate-limit's own MemoryStore lets each process pass the limit", async () => {
        expect(await spread('peer-memory')).toEqual({ 200: 2 * LIMIT, 429: REQUESTS - 2 * LIMIT });
      });
    }
  });
}
