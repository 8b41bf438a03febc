import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ManualClock, RateLimiter, StoreUnavailableError } from '../../src/index.js';
import type { CheckRequest, Clock, Store } from '../../src/index.js';

/** How a store under test is made: with an injected clock, or with its own time source when none is given. */
export interface StoreFactory {
  create(clock?: Clock): Promise<Store> | Store;
  teardown?(): Promise<void>;
}

let keySerial = 0;
/** A key no other test has used, so tests never share counters. */
function freshKey(label: string): string {
  keySerial += 1;
  return `conformance:${label}:${process.pid}:${Date.now()}:${keySerial}`;
}

/**
 * The behaviour every store promises (design.md section 2). Run unchanged against each store:
 * a difference between stores is a bug.
 */
export function describeConformance(storeName: string, factory: StoreFactory): void {
  describe(`conformance: ${storeName}`, () => {
    let clock: ManualClock;
    let limiter: RateLimiter;
    const opened: Store[] = [];

    beforeEach(async () => {
      clock = new ManualClock();
      const store = await factory.create(clock);
      opened.push(store);
      limiter = new RateLimiter({ store });
    });

    afterAll(async () => {
      await Promise.all(opened.map((store) => store.close()));
      await factory.teardown?.();
    });

    it('admits up to the limit, then denies', async () => {
      const key = freshKey('limit');
      for (let i = 1; i <= 3; i++) {
        const decision = await limiter.check({ key, limit: 3, window: 10 });
        expect(decision).toEqual({
          allowed: true,
          limit: 3,
          remaining: 3 - i,
          count: i,
          retryAfterMs: 0,
          resetAfterMs: 10_000,
        });
      }
      const denied = await limiter.check({ key, limit: 3, window: 10 });
      expect(denied).toMatchObject({ allowed: false, limit: 3, remaining: 0, count: 3 });
      expect(denied.retryAfterMs).toBe(10_000);
    });

    it('records nothing for denied checks', async () => {
      const key = freshKey('denied');
      const check = { key, limit: 2, window: '10s' };
      await limiter.check(check);
      clock.advanceMs(1000);
      await limiter.check(check);
      for (let i = 0; i < 5; i++) {
        clock.advanceMs(1000);
        expect(await limiter.check(check)).toMatchObject({ allowed: false, count: 2 });
      }
      // t = 10 s: the first unit leaves; had a denied check been recorded, this would still be denied.
      clock.advanceMs(4000);
      expect(await limiter.check(check)).toMatchObject({ allowed: true, count: 2, remaining: 0 });
    });

    it('spends cost > 1 as that many units, and never part of it', async () => {
      const key = freshKey('cost');
      const check = { key, limit: 10, window: 10, cost: 4 };
      expect(await limiter.check(check)).toMatchObject({ allowed: true, count: 4, remaining: 6 });
      clock.advanceMs(2000);
      expect(await limiter.check(check)).toMatchObject({ allowed: true, count: 8, remaining: 2 });
      clock.advanceMs(1000);
      const denied = await limiter.check(check);
      // 8 + 4 > 10: two units must leave, and the oldest four all leave at t = 10 s.
      expect(denied).toMatchObject({ allowed: false, count: 8, remaining: 2, retryAfterMs: 7000 });
      expect(await limiter.check({ ...check, cost: 2 })).toMatchObject({
        allowed: true,
        count: 10,
        remaining: 0,
      });
    });

    it('records a large cost exactly', async () => {
      const key = freshKey('large-cost');
      expect(await limiter.check({ key, limit: 5000, window: 60, cost: 2500 })).toMatchObject({
        allowed: true,
        count: 2500,
      });
      expect(await limiter.check({ key, limit: 5000, window: 60, cost: 2501 })).toMatchObject({
        allowed: false,
        count: 2500,
      });
      expect(await limiter.check({ key, limit: 5000, window: 60, cost: 2500 })).toMatchObject({
        allowed: true,
        count: 5000,
        remaining: 0,
      });
    });

    it('looks without spending when cost is 0', async () => {
      const key = freshKey('cost0');
      expect(await limiter.check({ key, limit: 2, window: 10, cost: 0 })).toEqual({
        allowed: true,
        limit: 2,
        remaining: 2,
        count: 0,
        retryAfterMs: 0,
        resetAfterMs: 0,
      });
      await limiter.check({ key, limit: 2, window: 10, cost: 2 });
      clock.advanceMs(4000);
      expect(await limiter.check({ key, limit: 2, window: 10, cost: 0 })).toEqual({
        allowed: true,
        limit: 2,
        remaining: 0,
        count: 2,
        retryAfterMs: 0,
        resetAfterMs: 6000,
      });
      expect(await limiter.check({ key, limit: 2, window: 10 })).toMatchObject({ allowed: false, count: 2 });
    });

    it('slides: a unit is admitted again exactly when the oldest unit leaves the window', async () => {
      const key = freshKey('slide');
      const check = { key, limit: 2, window: '1s' };
      expect((await limiter.check(check)).allowed).toBe(true); // t = 0
      clock.advanceMs(400);
      expect((await limiter.check(check)).allowed).toBe(true); // t = 400
      clock.advanceMs(599);
      expect(await limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 1 }); // t = 999
      clock.advanceUs(999);
      expect(await limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 1 }); // t = 999.999
      clock.advanceUs(1);
      expect(await limiter.check(check)).toMatchObject({ allowed: true, count: 2 }); // t = 1000
      clock.advanceMs(399);
      expect(await limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 1 }); // t = 1399
      clock.advanceMs(1);
      expect(await limiter.check(check)).toMatchObject({ allowed: true, count: 2 }); // t = 1400
    });

    it('gives retryAfterMs from the oldest units that must leave and resetAfterMs from the newest', async () => {
      const key = freshKey('times');
      const check = { key, limit: 3, window: 10 };
      await limiter.check(check); // t = 0
      clock.advanceMs(2000);
      await limiter.check(check); // t = 2
      clock.advanceMs(3000);
      expect(await limiter.check(check)).toMatchObject({ allowed: true, resetAfterMs: 10_000 }); // t = 5
      clock.advanceMs(1500);
      expect(await limiter.check(check)).toMatchObject({
        allowed: false,
        retryAfterMs: 3500, // the unit of t = 0 leaves at t = 10
        resetAfterMs: 8500, // the unit of t = 5 leaves at t = 15
      });
      expect(await limiter.check({ ...check, cost: 3 })).toMatchObject({
        allowed: false,
        retryAfterMs: 8500, // all three must leave
      });
      expect(await limiter.check({ ...check, cost: 2 })).toMatchObject({
        allowed: false,
        retryAfterMs: 5500,
      });
      // Rounded up to whole ms: waiting the advertised time is always enough.
      clock.advanceUs(300); // 3499.7 ms to go
      expect(await limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 3500 });
      clock.advanceUs(3_499_699);
      expect((await limiter.check(check)).allowed).toBe(false);
      clock.advanceUs(1);
      expect((await limiter.check(check)).allowed).toBe(true);
    });

    it('peek gives the decision a zero-cost check gives, and spends nothing', async () => {
      const key = freshKey('peek');
      expect(await limiter.peek({ key, limit: 5, window: 60 })).toEqual({
        allowed: true,
        limit: 5,
        remaining: 5,
        count: 0,
        retryAfterMs: 0,
        resetAfterMs: 0,
      });
      await limiter.check({ key, limit: 5, window: 60, cost: 5 });
      clock.advanceMs(10_000);
      for (let i = 0; i < 3; i++) {
        expect(await limiter.peek({ key, limit: 5, window: 60 })).toEqual({
          allowed: true,
          limit: 5,
          remaining: 0,
          count: 5,
          retryAfterMs: 0,
          resetAfterMs: 50_000,
        });
      }
    });

    it('reset forgets the counter', async () => {
      const key = freshKey('reset');
      await limiter.check({ key, limit: 2, window: 60, cost: 2 });
      expect((await limiter.check({ key, limit: 2, window: 60 })).allowed).toBe(false);
      await limiter.reset({ key, window: 60 });
      expect(await limiter.check({ key, limit: 2, window: 60 })).toMatchObject({ allowed: true, count: 1 });
      await limiter.reset({ key: freshKey('never-used'), window: 60 });
    });

    it('keeps counters independent per key and per window, and shares history across limits', async () => {
      const key = freshKey('independent');
      await limiter.check({ key, limit: 1, window: 1 });
      expect((await limiter.check({ key, limit: 1, window: 1 })).allowed).toBe(false);
      expect((await limiter.check({ key, limit: 1, window: 2 })).allowed).toBe(true);
      expect((await limiter.check({ key, limit: 1, window: '1000ms' })).allowed).toBe(false);
      expect((await limiter.check({ key: `${key}:other`, limit: 1, window: 1 })).allowed).toBe(true);
      // Same (key, algorithm, window) with another limit: the same history, the new limit applies at once.
      expect(await limiter.check({ key, limit: 3, window: 1 })).toMatchObject({ allowed: true, count: 2 });
      expect(await limiter.check({ key, limit: 1, window: 1, cost: 0 })).toMatchObject({
        allowed: false,
        count: 2,
        remaining: 0,
      });
      await limiter.reset({ key, window: 2 });
      expect(await limiter.peek({ key, limit: 3, window: 1 })).toMatchObject({ count: 2 });
    });

    it('keeps keys that differ only in special characters apart', async () => {
      const keys = ['a}', 'a%7D', 'a', '}a', '{a}', 'a:swl:1000', 'ключ', 'a\nb', 'a\u0000b', 'a b'];
      const base = freshKey('special');
      for (const suffix of keys) {
        expect(await limiter.check({ key: base + suffix, limit: 1, window: 1 })).toMatchObject({ count: 1 });
      }
      for (const suffix of keys) {
        expect(await limiter.peek({ key: base + suffix, limit: 1, window: 1 })).toMatchObject({ count: 1 });
      }
    });

    it('answers a batch in order, each check on its own', async () => {
      const key = freshKey('batch');
      const decisions = await limiter.checkMany([
        { key, limit: 2, window: 10 },
        { key, limit: 2, window: 10 },
        { key, limit: 2, window: 10 },
        { key: `${key}:b`, limit: 1, window: 10, cost: 0 },
      ]);
      expect(decisions.map((d) => [d.allowed, d.count])).toEqual([
        [true, 1],
        [true, 2],
        [false, 2],
        [true, 0],
      ]);
      await expect(limiter.checkMany([])).resolves.toEqual([]);
    });

    it('validates a whole batch before spending anything', async () => {
      const key = freshKey('batch-invalid');
      await expect(
        limiter.checkMany([
          { key, limit: 2, window: 10 },
          { key, limit: -1, window: 10 },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_argument', field: 'checks[1].limit' });
      expect(await limiter.peek({ key, limit: 2, window: 10 })).toMatchObject({ count: 0 });
    });

    const invalid: [string, unknown, string][] = [
      ['empty key', { key: '', limit: 1, window: 1 }, 'key'],
      ['key over 512 bytes', { key: 'é'.repeat(257), limit: 1, window: 1 }, 'key'],
      ['key of a lone surrogate', { key: '\ud800', limit: 1, window: 1 }, 'key'],
      ['key not a string', { key: 42, limit: 1, window: 1 }, 'key'],
      ['negative limit', { key: 'k', limit: -1, window: 1 }, 'limit'],
      ['fractional limit', { key: 'k', limit: 1.5, window: 1 }, 'limit'],
      ['limit as string', { key: 'k', limit: '10', window: 1 }, 'limit'],
      ['limit NaN', { key: 'k', limit: Number.NaN, window: 1 }, 'limit'],
      ['huge limit', { key: 'k', limit: 1e12, window: 1 }, 'limit'],
      ['zero window', { key: 'k', limit: 1, window: 0 }, 'window'],
      ['negative window', { key: 'k', limit: 1, window: -5 }, 'window'],
      ['huge window', { key: 'k', limit: 1, window: '367d' }, 'window'],
      ['sub-millisecond window', { key: 'k', limit: 1, window: 0.0001 }, 'window'],
      ['infinite window', { key: 'k', limit: 1, window: Number.POSITIVE_INFINITY }, 'window'],
      ['bad duration', { key: 'k', limit: 1, window: '10 parsecs' }, 'window'],
      ['missing window', { key: 'k', limit: 1 }, 'window'],
      ['negative cost', { key: 'k', limit: 1, window: 1, cost: -1 }, 'cost'],
      ['fractional cost', { key: 'k', limit: 5, window: 1, cost: 0.5 }, 'cost'],
      ['cost above limit', { key: 'k', limit: 5, window: 1, cost: 6 }, 'cost'],
      ['unknown algorithm', { key: 'k', limit: 1, window: 1, algorithm: 'leaky-sieve' }, 'algorithm'],
    ];
    it.each(invalid)('refuses %s with a typed error naming the field', async (_, request, field) => {
      const error: unknown = await limiter.check(request as CheckRequest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'invalid_argument', field });
    });

    it('refuses bad reset and peek input the same way', async () => {
      await expect(limiter.reset({ key: '', window: 1 })).rejects.toMatchObject({ field: 'key' });
      await expect(limiter.reset({ key: 'k', window: '0s' })).rejects.toMatchObject({ field: 'window' });
      await expect(limiter.peek({ key: 'k', limit: -2, window: 1 })).rejects.toMatchObject({
        field: 'limit',
      });
    });

    it('fails every call after close', async () => {
      const store = await factory.create(clock);
      const closing = new RateLimiter({ store });
      await closing.close();
      await expect(closing.check({ key: freshKey('closed'), limit: 1, window: 1 })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    });

    it('slides on its own clock too (short real windows)', async () => {
      const store = await factory.create();
      opened.push(store);
      const real = new RateLimiter({ store });
      const key = freshKey('real');
      const check = { key, limit: 2, window: '150ms' };
      expect((await real.check(check)).allowed).toBe(true);
      expect((await real.check(check)).allowed).toBe(true);
      const denied = await real.check(check);
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeGreaterThan(0);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(150);
      await new Promise((resolve) => setTimeout(resolve, denied.retryAfterMs + 5));
      expect(await real.check(check)).toMatchObject({ allowed: true });
    });
  });
}
