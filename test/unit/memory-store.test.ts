import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, RateLimiter } from '../../src/index.js';

describe('MemoryStore memory bounds', () => {
  it('drops counters whose units have all left the window', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    for (let i = 0; i < 100; i++) await limiter.check({ key: `short:${i}`, limit: 5, window: 1 });
    await limiter.check({ key: 'long', limit: 5, window: 60 });
    expect(store.stats().counters).toBe(101);
    clock.advanceMs(999);
    expect(store.sweep()).toBe(0);
    clock.advanceMs(1);
    expect(store.sweep()).toBe(100);
    expect(store.stats().counters).toBe(1);
    await limiter.close();
  });

  it('creates no counter for a peek or a denied check', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    await limiter.peek({ key: 'peek', limit: 5, window: 1 });
    await limiter.check({ key: 'zero', limit: 0, window: 1, cost: 0 });
    expect(store.stats().counters).toBe(0);
    await limiter.close();
  });

  it('evicts expired counters first, then the emptiest, then the least recently used', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, maxKeys: 3, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    await limiter.check({ key: 'short', limit: 5, window: 1 });
    await limiter.check({ key: 'full', limit: 1, window: 60 });
    await limiter.check({ key: 'light', limit: 100, window: 60 });
    clock.advanceMs(1000);
    // "short" has expired: it goes first, and that is no eviction (it no longer counted).
    await limiter.check({ key: 'new', limit: 100, window: 60 });
    expect(store.stats()).toMatchObject({ counters: 3, evictions: 0 });
    // Now the emptiest goes: "light" and "new" hold 1 of 100, "full" 1 of 1; "light" is older.
    clock.advanceMs(10);
    await limiter.check({ key: 'newer', limit: 100, window: 60 });
    expect(store.stats()).toMatchObject({ counters: 3, evictions: 1 });
    expect((await limiter.peek({ key: 'light', limit: 100, window: 60 })).count).toBe(0);
    expect((await limiter.peek({ key: 'full', limit: 1, window: 60 })).count).toBe(1);
    expect((await limiter.peek({ key: 'new', limit: 100, window: 60 })).count).toBe(1);
    await limiter.close();
  });

  it("never hands back a denied client's quota to a flood of new keys", async () => {
    const store = new MemoryStore({ maxKeys: 1000, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    const victim = { key: 'victim:alice', limit: 3, window: '1h' };
    for (let i = 0; i < 4; i++) await limiter.check(victim);
    expect((await limiter.check(victim)).allowed).toBe(false);
    for (let batch = 0; batch < 50; batch++) {
      await limiter.checkMany(
        Array.from({ length: 100 }, (_, i) => ({ key: `flood:${batch}:${i}`, limit: 100, window: '1h' })),
      );
    }
    expect(store.stats().evictions).toBeGreaterThan(3000);
    expect((await limiter.check(victim)).allowed).toBe(false);
    await limiter.close();
  });

  it('with whenFull: refuse, answers overloaded rather than evict a counter that still counts', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, maxKeys: 2, whenFull: 'refuse', sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    await limiter.check({ key: 'a', limit: 1, window: 60 });
    await limiter.check({ key: 'b', limit: 1, window: 1 });
    await expect(limiter.check({ key: 'c', limit: 100, window: 60 })).rejects.toMatchObject({
      code: 'overloaded',
      retryAfterMs: 1000,
    });
    // Counters that exist go on being decided; a counter that expired makes room.
    expect((await limiter.check({ key: 'a', limit: 1, window: 60 })).allowed).toBe(false);
    clock.advanceMs(1000);
    expect((await limiter.check({ key: 'c', limit: 100, window: 60 })).allowed).toBe(true);
    expect(store.stats()).toMatchObject({ counters: 2, evictions: 0, shed: 1 });
    await limiter.close();
  });

  it('keeps an atomic batch all or nothing when the store is full', async () => {
    for (const whenFull of ['evict', 'refuse'] as const) {
      const store = new MemoryStore({ maxKeys: 2, whenFull, sweepIntervalMs: 0 });
      const limiter = new RateLimiter({ store });
      await limiter.check({ key: 'a', limit: 10, window: 60 });
      const batch = ['a', 'b', 'c'].map((key) => ({ key, limit: 10, window: 60 }));
      const outcome = await limiter.checkAll(batch).catch((error: unknown) => error);
      const counts = await Promise.all(batch.map(async (check) => (await limiter.peek(check)).count));
      // Three counters do not fit in two: the batch is refused before anything is spent, in
      // either mode (evicting one of its own counters would break its atomicity).
      expect(outcome, whenFull).toMatchObject({ code: 'overloaded' });
      expect(counts, whenFull).toEqual([1, 0, 0]);
      await limiter.close();
    }
  });

  it('refuses a batch of independent checks whole when the store has no room for them', async () => {
    const store = new MemoryStore({ maxKeys: 2, whenFull: 'refuse', sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    await limiter.check({ key: 'a', limit: 10, window: 60 });
    const batch = ['a', 'b', 'c'].map((key) => ({ key, limit: 10, window: 60 }));
    await expect(limiter.checkMany(batch)).rejects.toMatchObject({ code: 'overloaded' });
    expect((await limiter.peek(batch[0] ?? { key: 'a', limit: 10, window: 60 })).count).toBe(1);
    await limiter.close();
  });

  it('bounds the bytes it holds, whatever the costs of the checks', async () => {
    const store = new MemoryStore({ maxBytes: 200_000, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    // The bomb: the largest cost under the largest limit over the longest window, on new keys.
    for (let i = 0; i < 5000; i++) {
      await limiter.check({ key: `bomb:${i}`, limit: 1e9, window: '366d', cost: 1e8 });
    }
    // One log keeps growing: one entry per check, whatever its cost.
    for (let i = 0; i < 3000; i++) await limiter.check({ key: 'busy', limit: 1e9, window: '1h', cost: 1000 });
    const { bytes, counters } = store.stats();
    expect(bytes).toBeLessThanOrEqual(200_000);
    expect(counters).toBeGreaterThan(10);
    expect((await limiter.peek({ key: 'busy', limit: 1e9, window: '1h' })).count).toBe(3_000_000);
    await limiter.close();
  });

  it('keeps the log of a busy key bounded by its limit', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    let admitted = 0;
    for (let i = 0; i < 20_000; i++) {
      clock.advanceMs(1);
      if ((await limiter.check({ key: 'busy', limit: 100, window: 1 })).allowed) admitted++;
    }
    // 100 per second over 20 s of traffic.
    expect(admitted).toBe(2000);
    expect((await limiter.peek({ key: 'busy', limit: 100, window: 1 })).count).toBe(100);
    await limiter.close();
  });

  it('refuses bad bounds', () => {
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow(/maxKeys/);
    expect(() => new MemoryStore({ maxBytes: 1.5 })).toThrow(/maxBytes/);
    expect(() => new MemoryStore({ whenFull: 'drop' as 'evict' })).toThrow(/whenFull/);
  });
});
