import { describe, expect, it } from 'vitest';
import type { Conformance } from './context.js';
import { alignClock, freshKey } from './context.js';

/** Each approximate or windowed algorithm at the edges where it differs from the exact log. */
export function describeAlgorithmBoundaries(t: Conformance): void {
  describe('fixed-window', () => {
    const check = (key: string, cost = 1) =>
      t.limiter.check({ key, limit: 2, window: '1s', cost, algorithm: 'fixed-window' });

    it('resets at the window boundary, aligned to the epoch', async () => {
      const key = freshKey('fw:boundary');
      alignClock(t.clock, 1000, 900);
      expect(await check(key)).toMatchObject({ allowed: true, count: 1, resetAfterMs: 100 });
      expect(await check(key)).toMatchObject({ allowed: true, count: 2 });
      expect(await check(key)).toMatchObject({ allowed: false, retryAfterMs: 100, resetAfterMs: 100 });
      t.clock.advanceUs(99_999);
      expect(await check(key)).toMatchObject({ allowed: false, retryAfterMs: 1 });
      t.clock.advanceUs(1);
      expect(await check(key)).toMatchObject({ allowed: true, count: 1, resetAfterMs: 1000 });
    });

    it('admits up to twice the limit across an edge (the documented price of O(1))', async () => {
      const key = freshKey('fw:edge');
      alignClock(t.clock, 1000, 990);
      expect((await check(key, 2)).allowed).toBe(true);
      t.clock.advanceMs(20);
      expect((await check(key, 2)).allowed).toBe(true);
    });
  });

  describe('sliding-window-counter', () => {
    const check = (key: string, cost = 1) =>
      t.limiter.check({ key, limit: 10, window: '1s', cost, algorithm: 'sliding-window-counter' });

    it('weights the previous window by its overlap with the sliding window', async () => {
      const key = freshKey('swc:mid');
      alignClock(t.clock, 1000, 100);
      expect((await check(key, 10)).allowed).toBe(true);
      alignClock(t.clock, 1000, 500);
      // Half of the previous window still overlaps: estimate 10 x 0.5 = 5.
      expect(await check(key, 0)).toMatchObject({ count: 5, remaining: 5 });
      expect(await check(key, 5)).toMatchObject({ allowed: true, count: 10, remaining: 0 });
      // Room for one more once the weight has fallen to 4: at 60% of the window.
      expect(await check(key)).toMatchObject({ allowed: false, retryAfterMs: 100 });
      t.clock.advanceMs(100);
      expect(await check(key)).toMatchObject({ allowed: true, count: 10 });
    });

    it('rounds a fractional estimate up in count and down in remaining', async () => {
      const key = freshKey('swc:fraction');
      alignClock(t.clock, 1000, 0);
      expect((await check(key, 10)).allowed).toBe(true);
      alignClock(t.clock, 1000, 750);
      // 10 x 0.25 = 2.5: 7 more fit (9.5 <= 10), 8 do not.
      expect(await check(key, 0)).toMatchObject({ count: 3, remaining: 7 });
      expect((await check(key, 8)).allowed).toBe(false);
      expect(await check(key, 7)).toMatchObject({ allowed: true, count: 10, remaining: 0 });
    });

    it('forgets the previous window once a whole window has passed', async () => {
      const key = freshKey('swc:gap');
      alignClock(t.clock, 1000, 500);
      await check(key, 10);
      alignClock(t.clock, 1000, 0);
      alignClock(t.clock, 1000, 1);
      expect(await check(key, 0)).toMatchObject({ count: 0, remaining: 10, resetAfterMs: 0 });
    });
  });

  describe('token-bucket', () => {
    const check = (key: string, cost = 1) =>
      t.limiter.check({ key, limit: 10, window: '1s', cost, algorithm: 'token-bucket' });

    it('allows a burst of limit, then refills one unit per window / limit', async () => {
      const key = freshKey('tb:refill');
      for (let i = 0; i < 10; i++) expect((await check(key)).allowed).toBe(true);
      expect(await check(key)).toMatchObject({ allowed: false, retryAfterMs: 100, resetAfterMs: 1000 });
      t.clock.advanceMs(99);
      expect(await check(key)).toMatchObject({ allowed: false, retryAfterMs: 1 });
      t.clock.advanceMs(1);
      expect(await check(key)).toMatchObject({ allowed: true, count: 10, remaining: 0 });
      t.clock.advanceMs(500);
      expect(await check(key, 0)).toMatchObject({ count: 5, remaining: 5, resetAfterMs: 500 });
      expect(await check(key, 5)).toMatchObject({ allowed: true, count: 10 });
      expect(await check(key, 5)).toMatchObject({ allowed: false, retryAfterMs: 500 });
    });

    it.each([6, 7, 11, 13])(
      'counts exactly when window / limit is not a whole number of µs (limit %i)',
      async (limit) => {
        const key = freshKey(`tb:odd:${limit}`);
        t.clock.advanceUs(123_457);
        const check = (cost = 1) =>
          t.limiter.check({ key, limit, window: '1s', cost, algorithm: 'token-bucket' });
        for (let i = 1; i <= limit; i++) {
          expect(await check(), `unit ${i}`).toMatchObject({ allowed: true, count: i, remaining: limit - i });
        }
        expect(await check()).toMatchObject({ allowed: false, count: limit, remaining: 0 });
        // Each unit refills after window / limit (rounded up to the µs).
        t.clock.advanceUs(Math.ceil(1_000_000 / limit));
        expect(await check()).toMatchObject({ allowed: true, count: limit });
      },
    );

    it('sustains exactly limit / window under steady traffic', async () => {
      const key = freshKey('tb:steady');
      let admitted = 0;
      for (let i = 0; i < 300; i++) {
        t.clock.advanceMs(10);
        if ((await check(key)).allowed) admitted++;
      }
      // The burst of 10 in the first 100 ms (t = 10..100), then one per 100 ms from t = 110 to 2910.
      expect(admitted).toBe(39);
    });
  });
}
