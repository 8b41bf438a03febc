import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../../src/index.js';
import type { AlgorithmName } from '../../src/index.js';
import { algorithmFor } from '../../src/core/algorithms/index.js';
import type { Check } from '../../src/core/types.js';

const events = fc.array(
  fc.record({
    advanceUs: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 2000 }),
      fc.integer({ min: 0, max: 3_000_000 }),
    ),
    cost: fc.integer({ min: 0, max: 8 }),
  }),
  { minLength: 1, maxLength: 60 },
);

describe.each(ALGORITHM_NAMES)('%s (pure)', (name: AlgorithmName) => {
  const algorithm = algorithmFor(name);

  it('denies until exactly retryAfter, then admits the same cost (no other traffic)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 2000 }),
        events,
        (limit, windowMs, steps) => {
          let state: unknown;
          let nowUs = 1_700_000_000_000_000;
          for (const step of steps) {
            nowUs += step.advanceUs;
            const check: Check = {
              key: 'k',
              limit,
              windowMs,
              cost: Math.min(step.cost, limit),
              algorithm: name,
            };
            const evaluation = algorithm.evaluate(state, check, nowUs);
            if (evaluation.allowed) {
              if (check.cost > 0) state = algorithm.record(state, check, nowUs);
              continue;
            }
            const { retryAfterUs } = evaluation;
            expect(retryAfterUs).toBeGreaterThan(0);
            expect(retryAfterUs).toBeLessThanOrEqual(2 * windowMs * 1000);
            // Probe on copies: a probe must not change the history the sequence goes on with.
            expect(algorithm.evaluate(structuredClone(state), check, nowUs + retryAfterUs - 1).allowed).toBe(
              false,
            );
            expect(algorithm.evaluate(structuredClone(state), check, nowUs + retryAfterUs).allowed).toBe(
              true,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never counts more than the limit, and resets to empty after resetAfter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 2000 }),
        events,
        (limit, windowMs, steps) => {
          let state: unknown;
          let nowUs = 1_700_000_000_000_000;
          for (const step of steps) {
            nowUs += step.advanceUs;
            const check: Check = {
              key: 'k',
              limit,
              windowMs,
              cost: Math.min(step.cost, limit),
              algorithm: name,
            };
            const evaluation = algorithm.evaluate(state, check, nowUs);
            if (evaluation.allowed && check.cost > 0) state = algorithm.record(state, check, nowUs);
            const tally = evaluation.allowed ? evaluation.ifRecorded : evaluation.current;
            expect(tally.count).toBeLessThanOrEqual(limit);
            expect(tally.count).toBeGreaterThanOrEqual(0);
            const look = { ...check, cost: 0 };
            const later = algorithm.evaluate(structuredClone(state), look, nowUs + tally.resetAfterUs);
            expect(later.current.count).toBe(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
