import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../../src/index.js';
import type { AlgorithmName } from '../../src/index.js';
import type { Conformance } from './context.js';
import { alignClock, freshKey } from './context.js';

/** limiter.refund: what every store gives back, and what it never gives. */
export function describeRefunds(t: Conformance): void {
  describe.each(ALGORITHM_NAMES)('refunds: %s', (algorithm: AlgorithmName) => {
    const check = (key: string, limit: number, cost = 1) =>
      t.limiter.check({ key, limit, window: '10s', cost, algorithm });
    const refund = (key: string, limit: number, cost?: number) =>
      t.limiter.refund({ key, limit, window: '10s', algorithm, ...(cost === undefined ? {} : { cost }) });

    it('gives back units, and answers what a zero-cost check would then give', async () => {
      const key = freshKey(`${algorithm}:refund`);
      alignClock(t.clock, 10_000, 100);
      await check(key, 5, 3);
      const after = await refund(key, 5, 2);
      expect(after).toMatchObject({ allowed: true, limit: 5, count: 1, remaining: 4, retryAfterMs: 0 });
      expect(after).toEqual(await t.limiter.peek({ key, limit: 5, window: '10s', algorithm }));
      expect(await refund(key, 5)).toMatchObject({ count: 0, remaining: 5 });
    });

    it('never goes below zero: a refund larger than what was spent buys no extra quota', async () => {
      const key = freshKey(`${algorithm}:refund:floor`);
      alignClock(t.clock, 10_000, 100);
      await check(key, 4, 1);
      expect(await refund(key, 4, 4)).toMatchObject({ count: 0, remaining: 4 });
      expect((await check(key, 4, 4)).allowed).toBe(true);
      expect((await check(key, 4, 1)).allowed).toBe(false);
    });

    it('lets a denied client in again once enough is given back', async () => {
      const key = freshKey(`${algorithm}:refund:denied`);
      alignClock(t.clock, 10_000, 100);
      await check(key, 3, 3);
      expect((await check(key, 3)).allowed).toBe(false);
      await refund(key, 3);
      expect(await check(key, 3)).toMatchObject({ allowed: true, count: 3 });
      expect((await check(key, 3)).allowed).toBe(false);
    });

    it('creates nothing for a counter that holds nothing', async () => {
      const key = freshKey(`${algorithm}:refund:empty`);
      expect(await refund(key, 5, 5)).toMatchObject({
        allowed: true,
        count: 0,
        remaining: 5,
        resetAfterMs: 0,
      });
      expect((await check(key, 5, 5)).allowed).toBe(true);
    });

    it('gives nothing back for units that have left the window', async () => {
      const key = freshKey(`${algorithm}:refund:gone`);
      alignClock(t.clock, 10_000, 100);
      await check(key, 4, 4);
      // Two windows later every algorithm has forgotten these units (the counter's previous window too).
      t.clock.advanceMs(20_001);
      expect(await refund(key, 4, 4)).toMatchObject({ count: 0, remaining: 4 });
      expect((await check(key, 4, 4)).allowed).toBe(true);
      expect((await check(key, 4, 1)).allowed).toBe(false);
    });

    it('refuses bad input with a typed error naming the field', async () => {
      const key = freshKey(`${algorithm}:refund:bad`);
      await expect(refund(key, 5, -1)).rejects.toMatchObject({ code: 'invalid_argument', field: 'cost' });
      await expect(refund(key, 5, 1.5)).rejects.toMatchObject({ code: 'invalid_argument', field: 'cost' });
      await expect(refund('', 5)).rejects.toMatchObject({ code: 'invalid_argument', field: 'key' });
    });

    it('clamps a cost above the limit to the limit (a limit lowered between reserve and settle)', async () => {
      const key = freshKey(`${algorithm}:refund:clamp`);
      alignClock(t.clock, 10_000, 100);
      await check(key, 10, 8);
      // The limit is now 5: a refund of the 8 reserved gives back at most 5, never below zero.
      const before = await t.limiter.peek({ key, limit: 5, window: '10s', algorithm });
      expect(before.count).toBeGreaterThan(0);
      const after = await refund(key, 5, 8);
      expect(after.count).toBe(Math.max(0, before.count - 5));
      expect(await refund(key, 5, 8)).toMatchObject({ count: 0, remaining: 5 });
    });
  });

  describe('refunds: sliding-window-log', () => {
    it('gives back the newest units first', async () => {
      const key = freshKey('swl:refund:newest');
      const window = '10s';
      await t.limiter.check({ key, limit: 5, window, cost: 2 });
      t.clock.advanceMs(5000);
      await t.limiter.check({ key, limit: 5, window, cost: 2 });
      expect(await t.limiter.refund({ key, limit: 5, window, cost: 3 })).toMatchObject({ count: 1 });
      // The unit kept is one of the older check's, so it leaves with them.
      t.clock.advanceMs(5000);
      expect(await t.limiter.peek({ key, limit: 5, window })).toMatchObject({ count: 0, resetAfterMs: 0 });
    });

    it('shortens or removes whole checks, however large their costs', async () => {
      const key = freshKey('swl:refund:large');
      const window = '1m';
      const limit = 1e9;
      for (const cost of [1, 400_000_000, 3, 200_000_000])
        await t.limiter.check({ key, limit, window, cost });
      expect(await t.limiter.refund({ key, limit, window, cost: 200_000_001 })).toMatchObject({
        count: 400_000_003,
      });
      expect(await t.limiter.refund({ key, limit, window, cost: 399_999_999 })).toMatchObject({ count: 4 });
      expect(await t.limiter.check({ key, limit, window, cost: limit - 4 })).toMatchObject({
        allowed: true,
        count: limit,
      });
      const denied = await t.limiter.check({ key, limit, window, cost: 2 });
      expect(denied).toMatchObject({ allowed: false, retryAfterMs: 60_000 });
    });
  });
}
