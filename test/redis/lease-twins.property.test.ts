import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/index.js';
import { twinStores } from '../support/twin-stores.js';

/**
 * The TypeScript and Lua twins of the lease set (src/core/lease-set.ts, lua/include/lease-set.lua)
 * must answer alike on any sequence of acquires, releases, renewals and clock steps. Both stores
 * read one manual clock; each twin makes its own lease ids, so the i-th lease of one is paired
 * with the i-th of the other.
 */
const { clock, limiters } = twinStores();

type Step =
  | { op: 'acquire'; advanceUs: number; limit: number; cost: number; ttlMs: number }
  | { op: 'release' | 'renew'; advanceUs: number; lease: number; ttlMs: number; otherKey: boolean };

const advanceUs = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 400 }).map((ms) => ms * 1000),
  fc.integer({ min: 1, max: 999 }),
  fc.integer({ min: 0, max: 1_500_000 }),
);
const ttlMs = fc.oneof(fc.constant(100), fc.integer({ min: 100, max: 1000 }));

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('acquire' as const),
    advanceUs,
    limit: fc.integer({ min: 0, max: 8 }),
    cost: fc.integer({ min: 0, max: 4 }),
    ttlMs,
  }),
  fc.record({
    op: fc.constantFrom('release' as const, 'renew' as const),
    advanceUs,
    lease: fc.nat({ max: 30 }),
    ttlMs,
    otherKey: fc.boolean(),
  }),
);

let run = 0;

describe('lease twins agree', () => {
  it('gives the same answers from TypeScript and Lua on random sequences', async () => {
    const twins = limiters();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 50 }), async (steps) => {
        run += 1;
        const key = `lease-twins:${run}`;
        const leases: [string, string][] = [];
        for (const s of steps) {
          clock.advanceUs(s.advanceUs);
          if (s.op === 'acquire') {
            const request = { key, limit: s.limit, ttl: `${s.ttlMs}ms`, cost: Math.min(s.cost, s.limit) };
            const [fromTs, fromLua] = await Promise.all(twins.map((limiter) => limiter.acquire(request)));
            const { leaseId: tsId, ...ts } = fromTs as Awaited<ReturnType<RateLimiter['acquire']>>;
            const { leaseId: luaId, ...lua } = fromLua as Awaited<ReturnType<RateLimiter['acquire']>>;
            expect(lua).toEqual(ts);
            expect(luaId === undefined).toBe(tsId === undefined);
            if (tsId !== undefined && luaId !== undefined) leases.push([tsId, luaId]);
            continue;
          }
          const pair = leases[s.lease % Math.max(1, leases.length)];
          if (!pair) continue;
          const on = s.otherKey ? `${key}:other` : key;
          const answers = await Promise.all(
            twins.map((limiter, twin) =>
              s.op === 'release'
                ? limiter.release({ key: on, leaseId: pair[twin] as string })
                : limiter.renew({ key: on, leaseId: pair[twin] as string, ttl: `${s.ttlMs}ms` }),
            ),
          );
          expect(answers[1]).toEqual(answers[0]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('agree when more expired leases are dropped in one call than the script reads at once', async () => {
    const twins = limiters();
    const key = `lease-twins:chunks:${process.pid}`;
    for (let i = 0; i < 1200; i++) {
      await Promise.all(twins.map((limiter) => limiter.acquire({ key, limit: 5000, ttl: '1s', cost: 2 })));
      if (i % 100 === 0) clock.advanceMs(1);
    }
    await Promise.all(twins.map((limiter) => limiter.acquire({ key, limit: 5000, ttl: '1h', cost: 3 })));
    // Time moved 12 ms while they were taken: at +1011 ms all but the last 99 of them have expired.
    clock.advanceMs(999);
    const [ts, lua] = await Promise.all(
      twins.map((limiter) => limiter.acquire({ key, limit: 5000, ttl: 1 })),
    );
    expect(lua).toEqual({ ...ts, leaseId: lua?.leaseId });
    expect(ts).toMatchObject({ allowed: true, inFlight: 3 + 2 * 99 + 1 });
  });
});
