import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, RateLimiter } from '../../src/index.js';

/** Leases count against the memory store's bound (issue 16): counters make room, leases never go. */
describe('MemoryStore leases and the memory bound', () => {
  it('counts the bytes of its leases, and gives them back as leases end', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    const ids: { key: string; leaseId: string }[] = [];
    for (let i = 0; i < 100; i++) {
      const key = `tenant:${i % 10}`;
      const { leaseId } = await limiter.acquire({ key, limit: 100, ttl: '10s' });
      ids.push({ key, leaseId: leaseId as string });
    }
    const held = store.stats();
    // Ten keys of ten leases: about 226 bytes a lease, and 400 to 600 a key's set.
    expect(held.leaseBytes).toBeGreaterThan(100 * 226 + 10 * 400);
    expect(held.leaseBytes).toBeLessThan(100 * 226 + 10 * 600);
    expect(held.bytes).toBe(held.leaseBytes);
    await limiter.renew({ ...(ids[0] as (typeof ids)[0]), ttl: '10s' });
    expect(store.stats().leaseBytes).toBeGreaterThan(held.leaseBytes);
    for (const ref of ids.slice(0, 50)) await limiter.release(ref);
    expect(store.stats().leaseBytes).toBeLessThan(held.leaseBytes);
    for (const ref of ids.slice(50)) await limiter.release(ref);
    expect(store.stats().leaseBytes).toBe(0);
    // Expired, its bytes stay counted until the key is next used (or swept).
    await limiter.acquire({ key: 'gone', limit: 1, ttl: '1s' });
    clock.advanceMs(1000);
    expect(store.stats().leaseBytes).toBeGreaterThan(0);
    await limiter.acquire({ key: 'gone', limit: 1, ttl: '1s', cost: 0 });
    expect(store.stats().leaseBytes).toBe(0);
    await limiter.close();
  });

  it('makes room for a lease by evicting counters, never another lease', async () => {
    const store = new MemoryStore({ maxBytes: 40_000, sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    for (let i = 0; i < 60; i++) await limiter.check({ key: `counter:${i}`, limit: 10, window: '1h' });
    const counters = store.stats().counters;
    let admitted = 0;
    let refused: unknown;
    for (let i = 0; i < 200 && refused === undefined; i++) {
      try {
        if ((await limiter.acquire({ key: `lease:${i}`, limit: 1, ttl: '1h' })).allowed) admitted++;
      } catch (error) {
        refused = error;
      }
    }
    const stats = store.stats();
    expect(stats.counters).toBeLessThan(counters);
    expect(stats.evictions).toBeGreaterThan(0);
    expect(stats.bytes).toBeLessThanOrEqual(40_000);
    // With every counter gone and the bound reached, a new lease is refused: nothing is held for it.
    expect(refused).toMatchObject({ code: 'overloaded' });
    expect(stats.counters).toBe(0);
    expect(admitted).toBeGreaterThan(10);
    for (let i = 0; i < admitted; i++) {
      expect((await limiter.acquire({ key: `lease:${i}`, limit: 1, ttl: '1h' })).allowed).toBe(false);
    }
    await limiter.close();
  });

  it('with whenFull: refuse, refuses a lease rather than evict a counter that still counts', async () => {
    const store = new MemoryStore({ maxBytes: 3000, whenFull: 'refuse', sweepIntervalMs: 0 });
    const limiter = new RateLimiter({ store });
    await limiter.check({ key: 'counter', limit: 10, window: '1h' });
    const outcome = async () => {
      for (let i = 0; i < 20; i++) await limiter.acquire({ key: `lease:${i}`, limit: 1, ttl: '1h' });
    };
    await expect(outcome()).rejects.toMatchObject({ code: 'overloaded' });
    expect(store.stats()).toMatchObject({ counters: 1, evictions: 0 });
    expect((await limiter.peek({ key: 'counter', limit: 10, window: '1h' })).count).toBe(1);
    await limiter.close();
  });
});
