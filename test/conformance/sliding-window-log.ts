import { describe, expect, it } from 'vitest';
import type { Conformance } from './context.js';
import { freshKey } from './context.js';

export function describeSlidingWindowLog(t: Conformance): void {
  describe('sliding-window-log', () => {
    it('admits up to the limit, then denies', async () => {
      const key = freshKey('limit');
      for (let i = 1; i <= 3; i++) {
        const decision = await t.limiter.check({ key, limit: 3, window: 10 });
        expect(decision).toEqual({
          allowed: true,
          limit: 3,
          remaining: 3 - i,
          count: i,
          retryAfterMs: 0,
          resetAfterMs: 10_000,
          windowMs: 10_000,
          algorithm: 'sliding-window-log',
        });
      }
      const denied = await t.limiter.check({ key, limit: 3, window: 10 });
      expect(denied).toMatchObject({ allowed: false, limit: 3, remaining: 0, count: 3 });
      expect(denied.retryAfterMs).toBe(10_000);
    });

    it('records nothing for denied checks', async () => {
      const key = freshKey('denied');
      const check = { key, limit: 2, window: '10s' };
      await t.limiter.check(check);
      t.clock.advanceMs(1000);
      await t.limiter.check(check);
      for (let i = 0; i < 5; i++) {
        t.clock.advanceMs(1000);
        expect(await t.limiter.check(check)).toMatchObject({ allowed: false, count: 2 });
      }
      // t = 10 s: the first unit leaves; had a denied check been recorded, this would still be denied.
      t.clock.advanceMs(4000);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: true, count: 2, remaining: 0 });
    });

    it('spends cost > 1 as that many units, and never part of it', async () => {
      const key = freshKey('cost');
      const check = { key, limit: 10, window: 10, cost: 4 };
      expect(await t.limiter.check(check)).toMatchObject({ allowed: true, count: 4, remaining: 6 });
      t.clock.advanceMs(2000);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: true, count: 8, remaining: 2 });
      t.clock.advanceMs(1000);
      const denied = await t.limiter.check(check);
      // 8 + 4 > 10: two units must leave, and the oldest four all leave at t = 10 s.
      expect(denied).toMatchObject({ allowed: false, count: 8, remaining: 2, retryAfterMs: 7000 });
      expect(await t.limiter.check({ ...check, cost: 2 })).toMatchObject({
        allowed: true,
        count: 10,
        remaining: 0,
      });
    });

    it('records a large cost exactly', async () => {
      const key = freshKey('large-cost');
      expect(await t.limiter.check({ key, limit: 5000, window: 60, cost: 2500 })).toMatchObject({
        allowed: true,
        count: 2500,
      });
      expect(await t.limiter.check({ key, limit: 5000, window: 60, cost: 2501 })).toMatchObject({
        allowed: false,
        count: 2500,
      });
      expect(await t.limiter.check({ key, limit: 5000, window: 60, cost: 2500 })).toMatchObject({
        allowed: true,
        count: 5000,
        remaining: 0,
      });
    });

    it('looks without spending when cost is 0', async () => {
      const key = freshKey('cost0');
      expect(await t.limiter.check({ key, limit: 2, window: 10, cost: 0 })).toEqual({
        allowed: true,
        limit: 2,
        remaining: 2,
        count: 0,
        retryAfterMs: 0,
        resetAfterMs: 0,
        windowMs: 10_000,
        algorithm: 'sliding-window-log',
      });
      await t.limiter.check({ key, limit: 2, window: 10, cost: 2 });
      t.clock.advanceMs(4000);
      expect(await t.limiter.check({ key, limit: 2, window: 10, cost: 0 })).toEqual({
        allowed: true,
        limit: 2,
        remaining: 0,
        count: 2,
        retryAfterMs: 0,
        resetAfterMs: 6000,
        windowMs: 10_000,
        algorithm: 'sliding-window-log',
      });
      expect(await t.limiter.check({ key, limit: 2, window: 10 })).toMatchObject({
        allowed: false,
        count: 2,
      });
    });

    it('slides: a unit is admitted again exactly when the oldest unit leaves the window', async () => {
      const key = freshKey('slide');
      const check = { key, limit: 2, window: '1s' };
      expect((await t.limiter.check(check)).allowed).toBe(true); // t = 0
      t.clock.advanceMs(400);
      expect((await t.limiter.check(check)).allowed).toBe(true); // t = 400
      t.clock.advanceMs(599);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 1 }); // t = 999
      t.clock.advanceUs(999);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 1 }); // t = 999.999
      t.clock.advanceUs(1);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: true, count: 2 }); // t = 1000
      t.clock.advanceMs(399);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 1 }); // t = 1399
      t.clock.advanceMs(1);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: true, count: 2 }); // t = 1400
    });

    it('gives retryAfterMs from the oldest units that must leave and resetAfterMs from the newest', async () => {
      const key = freshKey('times');
      const check = { key, limit: 3, window: 10 };
      await t.limiter.check(check); // t = 0
      t.clock.advanceMs(2000);
      await t.limiter.check(check); // t = 2
      t.clock.advanceMs(3000);
      expect(await t.limiter.check(check)).toMatchObject({ allowed: true, resetAfterMs: 10_000 }); // t = 5
      t.clock.advanceMs(1500);
      expect(await t.limiter.check(check)).toMatchObject({
        allowed: false,
        retryAfterMs: 3500, // the unit of t = 0 leaves at t = 10
        resetAfterMs: 8500, // the unit of t = 5 leaves at t = 15
      });
      expect(await t.limiter.check({ ...check, cost: 3 })).toMatchObject({
        allowed: false,
        retryAfterMs: 8500, // all three must leave
      });
      expect(await t.limiter.check({ ...check, cost: 2 })).toMatchObject({
        allowed: false,
        retryAfterMs: 5500,
      });
      // Rounded up to whole ms: waiting the advertised time is always enough.
      t.clock.advanceUs(300); // 3499.7 ms to go
      expect(await t.limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 3500 });
      t.clock.advanceUs(3_499_699);
      expect((await t.limiter.check(check)).allowed).toBe(false);
      t.clock.advanceUs(1);
      expect((await t.limiter.check(check)).allowed).toBe(true);
    });

    it('peek gives the decision a zero-cost check gives, and spends nothing', async () => {
      const key = freshKey('peek');
      expect(await t.limiter.peek({ key, limit: 5, window: 60 })).toEqual({
        allowed: true,
        limit: 5,
        remaining: 5,
        count: 0,
        retryAfterMs: 0,
        resetAfterMs: 0,
        windowMs: 60_000,
        algorithm: 'sliding-window-log',
      });
      await t.limiter.check({ key, limit: 5, window: 60, cost: 5 });
      t.clock.advanceMs(10_000);
      for (let i = 0; i < 3; i++) {
        expect(await t.limiter.peek({ key, limit: 5, window: 60 })).toEqual({
          allowed: true,
          limit: 5,
          remaining: 0,
          count: 5,
          retryAfterMs: 0,
          resetAfterMs: 50_000,
          windowMs: 60_000,
          algorithm: 'sliding-window-log',
        });
      }
    });

    it('reset forgets the counter', async () => {
      const key = freshKey('reset');
      await t.limiter.check({ key, limit: 2, window: 60, cost: 2 });
      expect((await t.limiter.check({ key, limit: 2, window: 60 })).allowed).toBe(false);
      await t.limiter.reset({ key, window: 60 });
      expect(await t.limiter.check({ key, limit: 2, window: 60 })).toMatchObject({ allowed: true, count: 1 });
      await t.limiter.reset({ key: freshKey('never-used'), window: 60 });
    });

    it('keeps counters independent per key and per window, and shares history across limits', async () => {
      const key = freshKey('independent');
      await t.limiter.check({ key, limit: 1, window: 1 });
      expect((await t.limiter.check({ key, limit: 1, window: 1 })).allowed).toBe(false);
      expect((await t.limiter.check({ key, limit: 1, window: 2 })).allowed).toBe(true);
      expect((await t.limiter.check({ key, limit: 1, window: '1000ms' })).allowed).toBe(false);
      expect((await t.limiter.check({ key: `${key}:other`, limit: 1, window: 1 })).allowed).toBe(true);
      // Same (key, algorithm, window) with another limit: the same history, the new limit applies at once.
      expect(await t.limiter.check({ key, limit: 3, window: 1 })).toMatchObject({ allowed: true, count: 2 });
      expect(await t.limiter.check({ key, limit: 1, window: 1, cost: 0 })).toMatchObject({
        allowed: false,
        count: 2,
        remaining: 0,
      });
      await t.limiter.reset({ key, window: 2 });
      expect(await t.limiter.peek({ key, limit: 3, window: 1 })).toMatchObject({ count: 2 });
    });

    it('keeps keys that differ only in special characters apart', async () => {
      const keys = ['a}', 'a%7D', 'a', '}a', '{a}', 'a:swl2:1000', 'ключ', 'a\nb', 'a\u0000b', 'a b'];
      const base = freshKey('special');
      for (const suffix of keys) {
        expect(await t.limiter.check({ key: base + suffix, limit: 1, window: 1 })).toMatchObject({
          count: 1,
        });
      }
      for (const suffix of keys) {
        expect(await t.limiter.peek({ key: base + suffix, limit: 1, window: 1 })).toMatchObject({ count: 1 });
      }
    });

    it('forgets a long run of expired checks at once while newer ones still count', async () => {
      const key = freshKey('many-expired');
      const check = { key, limit: 100, window: '100ms' };
      for (let i = 0; i < 30; i++) {
        await t.limiter.check({ ...check, cost: 1 + (i % 3) });
        t.clock.advanceMs(1);
      }
      // t = 30 ms: 30 checks recorded at 0..29 ms, costs 1, 2, 3, 1, 2, 3, ... (60 units).
      t.clock.advanceMs(90);
      // t = 120 ms: those at 0..20 ms have left (21 checks, 42 units); 9 checks, 18 units, remain.
      expect(await t.limiter.peek(check)).toMatchObject({ count: 18, resetAfterMs: 9 });
      expect(await t.limiter.check({ ...check, cost: 82 })).toMatchObject({ allowed: true, count: 100 });
      // The next unit fits once the oldest remaining check (recorded at 21 ms) leaves at 121 ms.
      expect(await t.limiter.check(check)).toMatchObject({ allowed: false, retryAfterMs: 1 });
      // Five units need the checks at 21 and 22 ms (units 1 + 2, then 3) gone: at 123 ms.
      expect(await t.limiter.check({ ...check, cost: 5 })).toMatchObject({ allowed: false, retryAfterMs: 3 });
    });
  });
}
