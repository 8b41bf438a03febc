import { describe, expect, it } from 'vitest';
import type { Conformance } from './context.js';
import { freshKey } from './context.js';

/** Concurrency limits (issue 16): what every store's leases promise. */
export function describeLeases(t: Conformance): void {
  describe('leases', () => {
    const acquire = (key: string, limit: number, cost?: number, ttl: number | string = '1s') =>
      t.limiter.acquire({ key, limit, ttl, ...(cost === undefined ? {} : { cost }) });

    it('admits while the live leases leave room, and a denial holds nothing', async () => {
      const key = freshKey('lease:admit');
      const first = await acquire(key, 3, 2);
      expect(first).toMatchObject({ allowed: true, limit: 3, inFlight: 2, remaining: 1, retryAfterMs: 0 });
      expect(first.expiresInMs).toBe(1000);
      expect(first.ttlMs).toBe(1000);
      expect(first.leaseId).toMatch(/^[A-Za-z0-9_-]{22}$/);
      t.clock.advanceMs(300);
      const denied = await acquire(key, 3, 2);
      expect(denied).toEqual({
        allowed: false,
        limit: 3,
        inFlight: 2,
        remaining: 1,
        retryAfterMs: 700,
        expiresInMs: 0,
        ttlMs: 1000,
      });
      const second = await acquire(key, 3, 1);
      expect(second).toMatchObject({ allowed: true, inFlight: 3, remaining: 0 });
      expect(second.leaseId).not.toBe(first.leaseId);
      // retryAfterMs: the earliest live lease's expiry, whatever the cost asked.
      expect(await acquire(key, 3, 1)).toMatchObject({ allowed: false, inFlight: 3, retryAfterMs: 700 });
    });

    it('a cost of 0 looks without holding anything', async () => {
      const key = freshKey('lease:look');
      expect(await acquire(key, 2, 0)).toEqual({
        allowed: true,
        limit: 2,
        inFlight: 0,
        remaining: 2,
        retryAfterMs: 0,
        expiresInMs: 0,
        ttlMs: 1000,
      });
      await acquire(key, 2, 2);
      expect(await acquire(key, 2, 0)).toMatchObject({ allowed: true, inFlight: 2, remaining: 0 });
      expect(await acquire(key, 0, 0)).toMatchObject({ allowed: false, inFlight: 2, remaining: 0 });
    });

    it('release frees the units once; unknown, released and other keys’ leases free nothing', async () => {
      const key = freshKey('lease:release');
      const other = freshKey('lease:release:other');
      const held = await acquire(key, 2, 2);
      const leaseId = held.leaseId as string;
      await acquire(other, 2, 1);
      expect(await t.limiter.release({ key: other, leaseId })).toEqual({
        released: false,
        inFlight: 1,
        limit: 2,
      });
      expect(await t.limiter.release({ key, leaseId: 'AAAAAAAAAAAAAAAAAAAAAA' })).toEqual({
        released: false,
        inFlight: 2,
        limit: 2,
      });
      expect(await t.limiter.release({ key, leaseId })).toEqual({ released: true, inFlight: 0, limit: 2 });
      expect(await t.limiter.release({ key, leaseId })).toEqual({ released: false, inFlight: 0, limit: 0 });
      expect(await acquire(key, 2, 2)).toMatchObject({ allowed: true, inFlight: 2 });
      expect(await acquire(other, 2, 1)).toMatchObject({ allowed: true, inFlight: 2 });
    });

    it('a lease no one releases frees its units at its expiry (a crashed holder)', async () => {
      const key = freshKey('lease:expiry');
      const held = await acquire(key, 1, 1, '500ms');
      t.clock.advanceMs(499);
      expect(await acquire(key, 1)).toMatchObject({ allowed: false, retryAfterMs: 1 });
      t.clock.advanceMs(1);
      // Expired at its expiry: a release racing it frees nothing, and the units are free again.
      expect(await t.limiter.release({ key, leaseId: held.leaseId as string })).toMatchObject({
        released: false,
        inFlight: 0,
      });
      expect(await acquire(key, 1)).toMatchObject({ allowed: true, inFlight: 1 });
    });

    it('expired leases are dropped while later ones stay held', async () => {
      const key = freshKey('lease:partial');
      for (let i = 0; i < 5; i++) {
        await acquire(key, 10, 1, '1s');
        t.clock.advanceMs(100);
      }
      await acquire(key, 10, 2, '10s');
      t.clock.advanceMs(750); // the first three have expired, the fourth at 1050, the fifth at 1150
      expect(await acquire(key, 10, 0)).toMatchObject({ inFlight: 4 });
      expect(await acquire(key, 4, 1)).toMatchObject({ allowed: false, inFlight: 4, retryAfterMs: 50 });
      t.clock.advanceMs(400);
      expect(await acquire(key, 10, 0)).toMatchObject({ inFlight: 2 });
    });

    it('renew extends a live lease; an expired one is not revived', async () => {
      const key = freshKey('lease:renew');
      const held = await acquire(key, 1, 1, '1s');
      const leaseId = held.leaseId as string;
      t.clock.advanceMs(900);
      expect(await t.limiter.renew({ key, leaseId, ttl: '2s' })).toEqual({
        renewed: true,
        expiresInMs: 2000,
        inFlight: 1,
        limit: 1,
      });
      t.clock.advanceMs(1500); // past the first ttl, within the renewed one
      expect(await acquire(key, 1)).toMatchObject({ allowed: false, retryAfterMs: 500 });
      t.clock.advanceMs(500);
      expect(await t.limiter.renew({ key, leaseId, ttl: '2s' })).toEqual({
        renewed: false,
        expiresInMs: 0,
        inFlight: 0,
        limit: 0,
      });
      expect(await acquire(key, 1)).toMatchObject({ allowed: true });
      expect(await t.limiter.renew({ key: freshKey('lease:renew:other'), leaseId, ttl: 1 })).toMatchObject({
        renewed: false,
      });
    });

    it('a lowered limit applies at once to the units already held', async () => {
      const key = freshKey('lease:limit');
      await acquire(key, 5, 3);
      expect(await acquire(key, 3, 1)).toMatchObject({ allowed: false, inFlight: 3, remaining: 0 });
      expect(await acquire(key, 4, 1)).toMatchObject({ allowed: true, inFlight: 4, remaining: 0 });
    });

    it('holds up to the largest limit, and frees a thousand expired leases in one call', async () => {
      const key = freshKey('lease:many');
      const taken = await Promise.all(Array.from({ length: 1000 }, () => acquire(key, 1_000_000, 1, '1s')));
      expect(taken.every((decision) => decision.allowed)).toBe(true);
      expect(await acquire(key, 1_000_000, 998_000)).toMatchObject({ allowed: true, inFlight: 999_000 });
      expect(await acquire(key, 1_000_000, 1001)).toMatchObject({ allowed: false, inFlight: 999_000 });
      t.clock.advanceMs(1000);
      expect(await acquire(key, 1_000_000, 1_000_000)).toMatchObject({ allowed: true, inFlight: 1_000_000 });
      // A thousand calls: over ServiceStore each is an HTTP request (2.4 s at load 15), so the
      // default 20 s is no honest bound on a loaded CI machine (it timed out once).
    }, 60_000);

    it('refuses bad input with a typed error naming the field, holding nothing', async () => {
      const key = freshKey('lease:bad');
      const refused = (request: unknown, field: string) =>
        expect(t.limiter.acquire(request as never)).rejects.toMatchObject({
          code: 'invalid_argument',
          field,
        });
      await refused({ key, limit: 2, ttl: '99ms' }, 'ttl');
      await refused({ key, limit: 2, ttl: '61m' }, 'ttl');
      await refused({ key, limit: 2, ttl: 'soon' }, 'ttl');
      await refused({ key, limit: 2 }, 'ttl');
      await refused({ key, limit: 1_000_001, ttl: 1 }, 'limit');
      await refused({ key, limit: 2, ttl: 1, cost: 3 }, 'cost');
      await refused({ key, limit: 2, ttl: 1, cost: 1.5 }, 'cost');
      await refused({ limit: 2, ttl: 1 }, 'key');
      await refused({ key: '', limit: 2, ttl: 1 }, 'key');
      await expect(t.limiter.release({ key, leaseId: 'not-ours' })).rejects.toMatchObject({
        code: 'invalid_argument',
        field: 'leaseId',
      });
      await expect(t.limiter.release({ leaseId: 'AAAAAAAAAAAAAAAAAAAAAA' } as never)).rejects.toMatchObject({
        field: 'key',
      });
      await expect(
        t.limiter.renew({ key, leaseId: 'AAAAAAAAAAAAAAAAAAAAAA', ttl: '2h' }),
      ).rejects.toMatchObject({ field: 'ttl' });
      expect(await acquire(key, 2, 0)).toMatchObject({ inFlight: 0 });
    });
  });
}
