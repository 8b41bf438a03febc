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

  it('evicts the least recently used counter past maxKeys', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, maxKeys: 3, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    for (const key of ['a', 'b', 'c']) await limiter.check({ key, limit: 5, window: 60 });
    // Touch "a" so that "b" becomes the least recently used.
    await limiter.peek({ key: 'a', limit: 5, window: 60 });
    await limiter.check({ key: 'd', limit: 5, window: 60 });
    expect(store.stats()).toEqual({ counters: 3, evictions: 1 });
    expect((await limiter.peek({ key: 'a', limit: 5, window: 60 })).count).toBe(1);
    expect((await limiter.peek({ key: 'b', limit: 5, window: 60 })).count).toBe(0);
    expect((await limiter.peek({ key: 'c', limit: 5, window: 60 })).count).toBe(1);
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

  it('refuses a bad maxKeys', () => {
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow(/maxKeys/);
  });
});
