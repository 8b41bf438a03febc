import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter, RedisStore, StoreUnavailableError } from '../../src/index.js';
import { RedisSentinelHarness } from '../../support/redis-sentinel.js';
import { measureFault, trafficOverKeys } from '../support/traffic.js';

/** Each test fails a fresh master, replica and sentinel over once, under traffic from two clients. */
describe('RedisStore under Sentinel', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function failoverUnderTraffic(how: 'kill' | 'graceful'): Promise<{
    sentinel: RedisSentinelHarness;
    clients: RateLimiter[];
    oldMaster: number;
    promoted: number;
  }> {
    const sentinel = await RedisSentinelHarness.start();
    cleanups.push(() => sentinel.stop());
    const clients = Array.from({ length: 2 }, () => {
      const limiter = new RateLimiter({ store: new RedisStore({ url: sentinel.url, timeoutMs: 250 }) });
      cleanups.push(() => limiter.close());
      return limiter;
    });
    const keys = Array.from({ length: 8 }, (_, i) => `sentinel:${how}:${process.pid}:${Date.now()}:${i}`);
    const traffic = trafficOverKeys(clients, 8, keys);
    await traffic.flowing();

    const oldMaster = await sentinel.masterPort();
    let promoted = 0;
    const report = await measureFault(
      traffic,
      async () => {
        promoted = await sentinel.failover(how);
      },
      new Set(keys),
    );
    const { failed, ...figures } = report;
    console.info(`sentinel ${how} failover: ${JSON.stringify({ ...figures, errors: failed.length })}`);
    for (const { error } of failed) expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(report.recoveryMs).toBeLessThan(10_000);
    expect(await sentinel.masterPort()).toBe(promoted);
    return { sentinel, clients, oldMaster, promoted };
  }

  it('follows a failover after the master is killed under traffic, with no restart', async () => {
    const { clients } = await failoverUnderTraffic('kill');
    const after = await Promise.all(
      clients.map((client, i) =>
        client.check({ key: `after:${process.pid}:${Date.now()}:${i}`, limit: 1, window: 60 }),
      ),
    );
    expect(after.every((decision) => decision.allowed)).toBe(true);
  }, 30_000);

  it('leaves a demoted master at once after SENTINEL FAILOVER, though it still accepts writes', async () => {
    const { sentinel, clients, oldMaster, promoted } = await failoverUnderTraffic('graceful');
    // The old master is still a master here; the clients must be writing to the new one.
    expect(String(await sentinel.command(oldMaster, 'ROLE'))).toMatch(/^master/);
    const probe = `probe:${process.pid}:${Date.now()}`;
    await Promise.all(clients.map((client) => client.check({ key: probe, limit: 5, window: 60 })));
    const written = async (port: number) =>
      ((await sentinel.command(port, 'KEYS', `*{${probe}}*`)) as string[]).length;
    expect(await written(promoted)).toBeGreaterThan(0);
    expect(await written(oldMaster)).toBe(0);
  }, 30_000);
});
