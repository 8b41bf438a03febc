import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { Throttle, ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiterThrottlerStorage } from '../../../src/adapters/nestjs/index.js';
import { RateLimiter, RedisStore } from '../../../src/index.js';
import { freePort } from '../../../support/redis-server.js';
import { expectPeerLimits, memoryLimiter, request } from '../../support/adapter-http.js';

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** Decorators applied as the functions they are: no decorator syntax needed in the test. */
function decorateMethod(target: object, name: string, ...decorators: MethodDecorator[]): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, name);
  if (!descriptor) throw new Error(`no method ${name}`);
  for (const decorator of decorators) decorator(target, name, descriptor);
}

/** A real Nest app (Express platform) with ThrottlerGuard global and only the storage line ours. */
async function nestApp(limiter: RateLimiter): Promise<string> {
  class AppController {
    ok() {
      return { ok: true };
    }
    login() {
      return { ok: true };
    }
  }
  Controller()(AppController);
  decorateMethod(AppController.prototype, 'ok', Get('ok'));
  decorateMethod(
    AppController.prototype,
    'login',
    Get('login'),
    Throttle({ default: { limit: 1, ttl: 60_000 } }),
  );
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a class its decorator describes
  class AppModule {}
  Module({
    imports: [
      ThrottlerModule.forRoot({
        throttlers: [{ ttl: 60_000, limit: 2 }],
        storage: new RateLimiterThrottlerStorage({ limiter }),
      }),
    ],
    controllers: [AppController],
    providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
  })(AppModule);
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest documents these options as a plain object
  const app = await NestFactory.create(AppModule, { logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return app.getUrl().then((url) => url.replace('[::1]', '127.0.0.1'));
}

describe('@nestjs/throttler with only its storage changed', () => {
  it('answers 503 in our error shape when the store is unreachable (closed failure mode)', async () => {
    const store = new RedisStore({ url: `redis://127.0.0.1:${await freePort()}`, timeoutMs: 200 });
    const limiter = new RateLimiter({ store, failurePolicy: { mode: 'closed' } });
    try {
      const answer = await request(`${await nestApp(limiter)}/ok`);
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({
        error: { code: 'store_unavailable', message: 'the rate limiter cannot decide now' },
      });
    } finally {
      await limiter.close();
    }
  });

  it('keeps its limit, its headers and its 429; @Throttle per route still applies', async () => {
    const { limiter, clock } = memoryLimiter();
    const url = await nestApp(limiter);
    await expectPeerLimits(url, clock, { statusCode: 429, message: 'ThrottlerException: Too Many Requests' });
  });

  it('maps a hit to totalHits / timeToExpire / isBlocked / timeToBlockExpire, recording nothing when blocked', async () => {
    const { limiter, clock } = memoryLimiter();
    const storage = new RateLimiterThrottlerStorage({ limiter });
    expect(await storage.increment('k', 10_000, 2, 10_000, 'default')).toEqual({
      totalHits: 1,
      timeToExpire: 10,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    clock.advanceMs(4000);
    await storage.increment('k', 10_000, 2, 10_000, 'default');
    const blocked = await storage.increment('k', 10_000, 2, 10_000, 'default');
    expect(blocked).toMatchObject({ totalHits: 3, isBlocked: true, timeToBlockExpire: 6 });
    // Blocked hits did not count: the first unit leaves after 10 s and one hit passes again.
    clock.advanceMs(6000);
    expect(await storage.increment('k', 10_000, 2, 10_000, 'default')).toMatchObject({
      isBlocked: false,
      totalHits: 2,
    });
    // Throttlers of one key are separate counters.
    expect((await storage.increment('k', 10_000, 2, 10_000, 'long')).totalHits).toBe(1);
  });
});
