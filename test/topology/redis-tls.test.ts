import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter, RedisStore, StoreUnavailableError } from '../../src/index.js';
import { RedisClusterHarness } from '../../support/redis-cluster.js';
import { RedisServer, freePort } from '../../support/redis-server.js';
import { makeTestCertificates, tlsServerArgs } from '../../support/tls.js';
import type { TestCertificates } from '../../support/tls.js';

/** rediss:// and redis+cluster://...?tls=true against real TLS servers, certificates verified. */
describe('RedisStore over TLS', () => {
  let certificates: TestCertificates;
  const cleanups: (() => Promise<void>)[] = [];
  const key = `tls:${process.pid}:${Date.now()}`;

  function limiter(url: string, ca?: Buffer): RateLimiter {
    const store = new RedisStore({ url, timeoutMs: 2000, ...(ca ? { redisOptions: { tls: { ca } } } : {}) });
    const created = new RateLimiter({ store });
    cleanups.push(() => created.close());
    return created;
  }

  beforeAll(async () => {
    certificates = await makeTestCertificates();
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    certificates.remove();
  });

  it('checks on a single node over rediss://, and refuses a server it cannot verify', async () => {
    const tlsPort = await freePort();
    const server = await RedisServer.start(tlsServerArgs(certificates, tlsPort));
    cleanups.push(() => server.stop());
    const url = `rediss://127.0.0.1:${tlsPort}`;
    expect(await limiter(url, certificates.ca).check({ key, limit: 1, window: 60 })).toMatchObject({
      allowed: true,
    });
    // Without the test CA the certificate does not verify: the store is unavailable, not insecure.
    const unverified = limiter(url).check({ key, limit: 1, window: 60 });
    await expect(unverified).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('checks on a cluster whose clients, replicas and bus all use TLS', async () => {
    const cluster = await RedisClusterHarness.start({ tls: certificates, password: 'tls cluster' });
    cleanups.push(() => cluster.stop());
    expect(cluster.url).toMatch(/^redis\+cluster:\/\/.*\?tls=true$/);
    const clusterLimiter = limiter(cluster.url, certificates.ca);
    const keys = Array.from({ length: 12 }, (_, i) => `${key}:${i}`);
    const decisions = await clusterLimiter.checkMany(keys.map((k) => ({ key: k, limit: 1, window: 60 })));
    expect(decisions.every((decision) => decision.allowed)).toBe(true);
    expect(await clusterLimiter.peek({ key: keys[0] ?? '', limit: 1, window: 60 })).toMatchObject({
      count: 1,
    });
  }, 30_000);
});
