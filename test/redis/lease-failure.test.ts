import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter, RedisStore, StoreUnavailableError } from '../../src/index.js';
import type { FailureMode } from '../../src/index.js';
import { RedisServer } from '../../support/redis-server.js';

/**
 * Leases while Redis is down, per failure mode (docs/concurrency.md): `open` admits without a
 * lease, `closed` refuses, `local` holds leases in process on this node's share of the limit.
 */
let server: RedisServer;
const limiters = new Map<FailureMode, RateLimiter>();
const lease = (key: string, limit = 4) => ({ key, limit, ttl: '10s' });

beforeAll(async () => {
  server = await RedisServer.start();
  for (const mode of ['closed', 'open', 'local'] as const) {
    const store = new RedisStore({ url: server.url, timeoutMs: 50 });
    await store.connection.connected();
    limiters.set(mode, new RateLimiter({ store, failurePolicy: { mode, liveNodes: () => 2 } }));
  }
});

afterAll(async () => {
  for (const limiter of limiters.values()) await limiter.close();
  await server.stop();
});

const limiter = (mode: FailureMode) => limiters.get(mode) as RateLimiter;

describe('leases while Redis is down', () => {
  const held = new Map<FailureMode, string>();

  beforeAll(async () => {
    for (const mode of limiters.keys()) {
      const decision = await limiter(mode).acquire(lease(`before:${mode}`));
      held.set(mode, decision.leaseId as string);
    }
    await server.kill();
  });

  it('closed: acquire, release and renew fail with store_unavailable', async () => {
    await expect(limiter('closed').acquire(lease('closed'))).rejects.toBeInstanceOf(StoreUnavailableError);
    const leaseId = held.get('closed') as string;
    await expect(limiter('closed').release({ key: 'before:closed', leaseId })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await expect(limiter('closed').renew({ key: 'before:closed', leaseId, ttl: 1 })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });

  it('open: admits without a lease, marked degraded; a release fails (the lease expires anyway)', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 6 }, () => limiter('open').acquire(lease('open'))),
    );
    for (const decision of decisions) {
      expect(decision).toEqual({
        allowed: true,
        limit: 4,
        inFlight: 0,
        remaining: 4,
        retryAfterMs: 0,
        expiresInMs: 0,
        ttlMs: 10_000,
        degraded: true,
      });
    }
    const leaseId = held.get('open') as string;
    await expect(limiter('open').release({ key: 'before:open', leaseId })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });

  it('local: holds leases in process on limit / live nodes, released and renewed there', async () => {
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await limiter('local').acquire(lease('local')));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
    expect(decisions.every((d) => d.degraded === true && d.limit === 2)).toBe(true);
    const leaseId = decisions[0]?.leaseId as string;
    expect(await limiter('local').renew({ key: 'local', leaseId, ttl: 5 })).toMatchObject({
      renewed: true,
      expiresInMs: 5000,
    });
    expect(await limiter('local').release({ key: 'local', leaseId })).toMatchObject({ released: true });
    expect(await limiter('local').acquire(lease('local'))).toMatchObject({ allowed: true, degraded: true });
    // A lease held in Redis before the fault is not known here: nothing is freed.
    const before = held.get('local') as string;
    expect(await limiter('local').release({ key: 'before:local', leaseId: before })).toMatchObject({
      released: false,
    });
  });

  it('never masks bad input as a store failure', async () => {
    for (const each of limiters.values()) {
      await expect(each.acquire({ key: 'x', limit: 1, ttl: '1ms' })).rejects.toMatchObject({ field: 'ttl' });
    }
  });

  it('after a restart without persistence the leases are gone; the limiter holds them on Redis again', async () => {
    await server.restart();
    const local = limiter('local');
    const deadline = Date.now() + 5000;
    let decision = await local.acquire(lease('after', 1)).catch(() => undefined);
    while (decision?.degraded === true || decision === undefined) {
      if (Date.now() > deadline) throw new Error('redis did not come back within 5 s');
      if (decision?.leaseId) await local.release({ key: 'after', leaseId: decision.leaseId });
      await new Promise((resolve) => setTimeout(resolve, 50));
      decision = await local.acquire(lease('after', 1)).catch(() => undefined);
    }
    expect(decision).toMatchObject({ allowed: true, inFlight: 1 });
    expect(decision.degraded).toBeUndefined();
    // The lease taken before the fault did not survive the restart.
    expect(await local.release({ key: 'before:local', leaseId: held.get('local') as string })).toMatchObject({
      released: false,
      inFlight: 0,
    });
    expect(await local.acquire(lease('after', 1))).toMatchObject({ allowed: false, inFlight: 1 });
  });
});
