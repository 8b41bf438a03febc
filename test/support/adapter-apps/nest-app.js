// A Nest app (Express platform) with ThrottlerGuard and our ThrottlerStorage.
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { RateLimiterThrottlerStorage } from 'ratelimiter-service/nestjs';
import { LIMIT, PREFIX, WINDOW_MS, announce, redisLimiter } from './limiter.js';

const limiter = redisLimiter();

class AppController {
  ok() {
    return 'ok';
  }
}
Controller()(AppController);
Get('peer/ok')(AppController.prototype, 'ok', Object.getOwnPropertyDescriptor(AppController.prototype, 'ok'));

// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a class its decorator describes
class AppModule {}
Module({
  imports: [
    ThrottlerModule.forRoot({
      throttlers: [{ ttl: WINDOW_MS, limit: LIMIT }],
      storage: new RateLimiterThrottlerStorage({ limiter, prefix: `${PREFIX}peer:` }),
    }),
  ],
  controllers: [AppController],
  providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
announce(`http://127.0.0.1:${app.getHttpServer().address().port}`, async () => {
  await app.close();
  await limiter.close();
});
