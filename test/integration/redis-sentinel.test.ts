import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter, RedisStore, StoreUnavailableError } from '../../src/index.js';
import { RedisSentinelHarness } from '../support/redis-sentinel.js';
import { measureFault, trafficOverKeys } from '../support/traffic.js';

describe('RedisStore under Sentinel', () => {
  let sentinel: RedisSentinelHarness;
  const opened: RateLimiter[] = [];

  beforeAll(async () => {
    sentinel = await RedisSentinelHarness.start();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(opened.map((limiter) => limiter.close()));
    await sentinel.stop();
  });

  it('follows a failover of the master under traffic, with no restart', async () => {
    const clients = Array.from({ length: 2 }, () => {
      const limiter = new RateLimiter({ store: new RedisStore({ url: sentinel.url, timeoutMs: 250 }) });
      opened.push(limiter);
      return limiter;
    });
    const keys = Array.from({ length: 8 }, (_, i) => `sentinel:${process.pid}:${Date.now()}:${i}`);
    const traffic = trafficOverKeys(clients, 8, keys);
    await traffic.flowing();

    const report = await measureFault(traffic, () => sentinel.killMasterAndWaitForFailover(), new Set(keys));
    const { failed, ...figures } = report;
    console.info(`sentinel failover: ${JSON.stringify({ ...figures, errors: failed.length })}`);
    for (const { error } of failed) expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(report.recoveryMs).toBeLessThan(10_000);
    expect(await sentinel.masterPort()).toBe(sentinel.replica.port);
    const after = await Promise.all(
      clients.map((client) => client.check({ key: keys[0] ?? '', limit: 1e6, window: 60 })),
    );
    expect(after.every((decision) => decision.allowed)).toBe(true);
  }, 30_000);
});
