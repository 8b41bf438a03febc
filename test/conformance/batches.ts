import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../../src/index.js';
import type { Conformance } from './context.js';
import { freshKey } from './context.js';

export function describeBatches(t: Conformance): void {
  describe('batches', () => {
    it('answers a batch in order, each check on its own', async () => {
      const key = freshKey('batch');
      const decisions = await t.limiter.checkMany([
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
      await expect(t.limiter.checkMany([])).resolves.toEqual([]);
    });

    it('validates a whole batch before spending anything', async () => {
      const key = freshKey('batch-invalid');
      await expect(
        t.limiter.checkMany([
          { key, limit: 2, window: 10 },
          { key, limit: -1, window: 10 },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_argument', field: 'checks[1].limit' });
      expect(await t.limiter.peek({ key, limit: 2, window: 10 })).toMatchObject({ count: 0 });
    });

    it('checkAll records every check or none', async () => {
      const key = freshKey('atomic');
      const checks = [
        { key, limit: 2, window: '1s' },
        { key, limit: 5, window: '1m' },
        { key, limit: 100, window: '1h', algorithm: 'token-bucket' as const, cost: 10 },
      ];
      expect(await t.limiter.checkAll(checks)).toMatchObject({
        allowed: true,
        results: [{ count: 1 }, { count: 1 }, { count: 10 }],
      });
      expect((await t.limiter.checkAll(checks)).allowed).toBe(true);
      const denied = await t.limiter.checkAll(checks);
      expect(denied.allowed).toBe(false);
      expect(denied.results.map((d) => [d.allowed, d.count, d.remaining])).toEqual([
        [false, 2, 0],
        [false, 2, 3],
        [false, 20, 80],
      ]);
      // The per-second limit denied the batch; the others would have fitted, so they give no wait.
      expect(denied.results.map((d) => d.retryAfterMs > 0)).toEqual([true, false, false]);
      expect(await t.limiter.peek({ key, limit: 5, window: '1m' })).toMatchObject({ count: 2 });
      t.clock.advanceMs(denied.results[0]?.retryAfterMs ?? 0);
      expect(await t.limiter.checkAll(checks)).toMatchObject({
        allowed: true,
        results: [{ count: 1 }, { count: 3 }, { count: 30 }], // both per-second units have left
      });
    });

    it('checkAll over every algorithm at once, with cost 0 looking only', async () => {
      const key = freshKey('atomic-all');
      const checks = ALGORITHM_NAMES.map((algorithm) => ({ key, limit: 3, window: 60, algorithm }));
      expect((await t.limiter.checkAll(checks)).results.map((d) => d.count)).toEqual([1, 1, 1, 1]);
      const looks = await t.limiter.checkAll(checks.map((check) => ({ ...check, cost: 0 })));
      expect(looks).toMatchObject({ allowed: true });
      expect(looks.results.map((d) => d.count)).toEqual([1, 1, 1, 1]);
    });

    it('checkAll refuses two checks of one counter, and validates before spending', async () => {
      const key = freshKey('atomic-invalid');
      await expect(
        t.limiter.checkAll([
          { key, limit: 2, window: 10 },
          { key, limit: 3, window: '10s' },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_argument', field: 'checks[1]' });
      await expect(
        t.limiter.checkAll([
          { key, limit: 2, window: 10 },
          { key, limit: 2, window: 20, cost: 3 },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_argument', field: 'checks[1].cost' });
      expect(await t.limiter.peek({ key, limit: 2, window: 10 })).toMatchObject({ count: 0 });
      expect(await t.limiter.checkAll([])).toEqual({ allowed: true, results: [] });
      // One request may not spend more of an algorithm than one check may.
      const heavy = [0, 1].map((i) => ({ key: `${key}:${i}`, limit: 1e9, window: 10, cost: 6e8 }));
      await expect(t.limiter.checkAll(heavy)).rejects.toMatchObject({ field: 'checks' });
      await expect(t.limiter.checkMany(heavy)).rejects.toMatchObject({ field: 'checks' });
      expect(await t.limiter.peek({ key: `${key}:0`, limit: 1e9, window: 10 })).toMatchObject({
        count: 0,
      });
      const light = heavy.map((check, i) => ({
        ...check,
        algorithm: i === 0 ? ('token-bucket' as const) : ('fixed-window' as const),
      }));
      expect((await t.limiter.checkMany(light)).every((decision) => decision.allowed)).toBe(true);
    });
  });
}
