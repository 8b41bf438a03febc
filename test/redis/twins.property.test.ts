import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../../src/index.js';
import type { AlgorithmName } from '../../src/index.js';
import { twinStores } from '../support/twin-stores.js';

/**
 * The TypeScript and Lua halves of each algorithm must decide alike on any sequence of events.
 * Both stores read one manual clock, so the script's time is driven explicitly.
 */
const { clock, limiters } = twinStores();

interface Step {
  advanceUs: number;
  cost: number;
  limitDelta: number;
  /** Give `cost` units back instead of spending them. */
  refund: boolean;
}

/**
 * Steps of the clock. The log also gets steps back (Redis TIME after a failover to a node whose
 * clock is behind): both twins must forget, and clamp, alike. The other algorithms keep state that
 * Redis expires in real time while the memory store drops it at the injected clock's time, so a
 * step back there compares two clocks, not two twins.
 */
const step = (windowMs: number, backwards: boolean): fc.Arbitrary<Step> =>
  fc.record({
    // Whole milliseconds land exactly on window edges, where off-by-one errors live; odd
    // microseconds and long jumps past the window cover the rest.
    advanceUs: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 0, max: windowMs }).map((ms) => ms * 1000),
      fc.integer({ min: 1, max: 999 }),
      fc.integer({ min: 0, max: windowMs * 3000 }),
      ...(backwards ? [fc.integer({ min: -windowMs * 1000, max: -1 })] : []),
    ),
    cost: fc.integer({ min: 0, max: 6 }),
    // A changed limit shares the counter's history; exercise that too.
    limitDelta: fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 3 })),
    refund: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  });

let run = 0;

describe.each(ALGORITHM_NAMES)('twins agree: %s', (algorithm: AlgorithmName) => {
  it('gives the same decision from TypeScript and Lua on random sequences of checks and refunds', async () => {
    const twins = limiters();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc
          .oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 3000 }))
          .chain((windowMs) =>
            fc.tuple(
              fc.constant(windowMs),
              fc.array(step(windowMs, algorithm === 'sliding-window-log'), { minLength: 1, maxLength: 40 }),
            ),
          ),
        async (baseLimit, [windowMs, steps]) => {
          run += 1;
          const key = `twins:${algorithm}:${run}`;
          for (const { advanceUs, cost, limitDelta, refund } of steps) {
            clock.advanceUs(advanceUs);
            const limit = Math.max(0, baseLimit + limitDelta);
            const check = { key, limit, window: `${windowMs}ms`, cost: Math.min(cost, limit), algorithm };
            const [fromTs, fromLua] = await Promise.all(
              twins.map((limiter) => (refund ? limiter.refund(check) : limiter.check(check))),
            );
            expect(fromLua).toEqual(fromTs);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
