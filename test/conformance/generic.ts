import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../../src/index.js';
import type { AlgorithmName } from '../../src/index.js';
import type { Conformance } from './context.js';
import { freshKey } from './context.js';

/** The rules of design.md section 2 that hold for every algorithm. */
export function describeEveryAlgorithm(t: Conformance): void {
  describe.each(ALGORITHM_NAMES)('every algorithm: %s', (algorithm: AlgorithmName) => {
    const check = (key: string, limit: number, window: number | string, cost?: number) =>
      t.limiter.check({ key, limit, window, algorithm, ...(cost === undefined ? {} : { cost }) });
    const peek = (key: string, limit: number, window: number | string) =>
      t.limiter.peek({ key, limit, window, algorithm });

    it('admits up to the limit at one instant, then denies', async () => {
      const key = freshKey(`${algorithm}:limit`);
      for (let i = 1; i <= 5; i++) {
        const decision = await check(key, 5, 10);
        expect(decision).toMatchObject({
          allowed: true,
          limit: 5,
          count: i,
          remaining: 5 - i,
          retryAfterMs: 0,
        });
        expect(decision.resetAfterMs).toBeGreaterThan(0);
      }
      const denied = await check(key, 5, 10);
      expect(denied).toMatchObject({ allowed: false, limit: 5, count: 5, remaining: 0 });
      expect(denied.retryAfterMs).toBeGreaterThan(0);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(20_000);
    });

    it('spends cost > 1 as that many units, never part of it', async () => {
      const key = freshKey(`${algorithm}:cost`);
      expect(await check(key, 10, 60, 4)).toMatchObject({ allowed: true, count: 4, remaining: 6 });
      expect(await check(key, 10, 60, 4)).toMatchObject({ allowed: true, count: 8, remaining: 2 });
      expect(await check(key, 10, 60, 4)).toMatchObject({ allowed: false, count: 8, remaining: 2 });
      expect(await check(key, 10, 60, 2)).toMatchObject({ allowed: true, count: 10, remaining: 0 });
    });

    it('records nothing for a denied check, and admits once retryAfterMs has passed', async () => {
      const key = freshKey(`${algorithm}:denied`);
      t.clock.advanceUs(123_457);
      await check(key, 3, '1s', 3);
      let retryAfterMs = 0;
      for (let i = 0; i < 5; i++) {
        const denied = await check(key, 3, '1s');
        expect(denied).toMatchObject({ allowed: false, count: 3 });
        retryAfterMs = denied.retryAfterMs;
      }
      expect(await peek(key, 3, '1s')).toMatchObject({ count: 3, remaining: 0 });
      t.clock.advanceMs(retryAfterMs);
      expect((await check(key, 3, '1s')).allowed).toBe(true);
    });

    it('gives retryAfterMs as the earliest time the same cost is admitted', async () => {
      const key = freshKey(`${algorithm}:retry`);
      t.clock.advanceUs(321_123);
      expect((await check(key, 4, '1s', 3)).allowed).toBe(true);
      const denied = await check(key, 4, '1s', 3);
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeGreaterThan(1);
      t.clock.advanceMs(denied.retryAfterMs - 1);
      expect((await check(key, 4, '1s', 3)).allowed).toBe(false);
      t.clock.advanceMs(1);
      expect((await check(key, 4, '1s', 3)).allowed).toBe(true);
    });

    it('looks without spending: peek and cost 0', async () => {
      const key = freshKey(`${algorithm}:peek`);
      const empty = {
        allowed: true,
        limit: 5,
        remaining: 5,
        count: 0,
        retryAfterMs: 0,
        resetAfterMs: 0,
        windowMs: 60_000,
        algorithm,
      };
      expect(await peek(key, 5, 60)).toEqual(empty);
      expect(await check(key, 5, 60, 0)).toEqual(empty);
      await check(key, 5, 60, 2);
      const first = await peek(key, 5, 60);
      expect(first).toMatchObject({ allowed: true, count: 2, remaining: 3, retryAfterMs: 0 });
      expect(await peek(key, 5, 60)).toEqual(first);
      expect(await check(key, 5, 60, 0)).toEqual(first);
    });

    it('gives resetAfterMs as the time until the key holds nothing', async () => {
      const key = freshKey(`${algorithm}:reset-after`);
      t.clock.advanceUs(777_777);
      const { resetAfterMs } = await check(key, 5, '1s', 3);
      expect(resetAfterMs).toBeGreaterThan(1);
      t.clock.advanceMs(resetAfterMs - 1);
      expect((await peek(key, 5, '1s')).count).toBeGreaterThan(0);
      t.clock.advanceMs(1);
      expect(await peek(key, 5, '1s')).toMatchObject({ count: 0, remaining: 5, resetAfterMs: 0 });
    });

    it('forgets a counter on reset', async () => {
      const key = freshKey(`${algorithm}:reset`);
      await check(key, 2, 60, 2);
      expect((await check(key, 2, 60)).allowed).toBe(false);
      await t.limiter.reset({ key, window: 60, algorithm });
      expect(await check(key, 2, 60)).toMatchObject({ allowed: true, count: 1 });
    });

    it('keeps counters apart per key, window and algorithm; shares history across limits', async () => {
      const key = freshKey(`${algorithm}:independent`);
      await check(key, 1, 60);
      expect((await check(key, 1, 60)).allowed).toBe(false);
      expect((await check(key, 1, 120)).allowed).toBe(true);
      expect((await check(`${key}:other`, 1, 60)).allowed).toBe(true);
      const otherAlgorithm = ALGORITHM_NAMES.find((name) => name !== algorithm);
      expect((await t.limiter.check({ key, limit: 1, window: 60, algorithm: otherAlgorithm })).allowed).toBe(
        true,
      );
      // A token bucket's history is time (one unit at 1/min is a minute of debt), so under a new
      // limit it counts as the same share of the bucket; the counted algorithms keep unit counts.
      if (algorithm === 'token-bucket') {
        expect(await peek(key, 3, 60)).toMatchObject({ count: 3, remaining: 0 });
        return;
      }
      expect(await check(key, 3, 60)).toMatchObject({ allowed: true, count: 2 });
      expect(await check(key, 1, 60, 0)).toMatchObject({ allowed: false, count: 2, remaining: 0 });
    });

    it('admits only cost 0 under limit 0', async () => {
      const key = freshKey(`${algorithm}:zero`);
      expect(await check(key, 0, 60, 0)).toEqual({
        allowed: true,
        limit: 0,
        remaining: 0,
        count: 0,
        retryAfterMs: 0,
        resetAfterMs: 0,
        windowMs: 60_000,
        algorithm,
      });
      await expect(check(key, 0, 60)).rejects.toMatchObject({ code: 'invalid_argument', field: 'cost' });
    });
  });
}
