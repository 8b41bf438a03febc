import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../../src/index.js';
import type { AlgorithmName } from '../../src/index.js';
import { algorithmFor } from '../../src/core/algorithms/index.js';
import type { Check } from '../../src/core/types.js';
import type { Evaluation } from '../../src/core/algorithms/index.js';

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

/** What a sequence shows at each step: the state before it, the check, its time and its evaluation. */
interface Step {
  before: unknown;
  check: Check;
  nowUs: number;
  evaluation: Evaluation;
}

/** Every random sequence of events, run through the algorithm, each step shown to `visit`. */
function forEverySequence(name: AlgorithmName, visit: (step: Step) => void): void {
  const algorithm = algorithmFor(name);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 1, max: 2000 }),
      events,
      (limit, windowMs, steps) => {
        let state: unknown;
        let nowUs = 1_700_000_000_000_000;
        for (const { advanceUs, cost } of steps) {
          nowUs += advanceUs;
          const check: Check = { key: 'k', limit, windowMs, cost: Math.min(cost, limit), algorithm: name };
          const evaluation = algorithm.evaluate(state, check, nowUs);
          const before = structuredClone(state);
          if (evaluation.allowed && check.cost > 0) state = algorithm.record(state, check, nowUs);
          visit({ before, check, nowUs, evaluation });
        }
      },
    ),
    { numRuns: 300 },
  );
}

describe.each(ALGORITHM_NAMES)('%s (pure)', (name: AlgorithmName) => {
  const algorithm = algorithmFor(name);

  it('denies until exactly retryAfter, then admits the same cost (no other traffic)', () => {
    forEverySequence(name, ({ before, check, nowUs, evaluation }) => {
      if (evaluation.allowed) return;
      const { retryAfterUs } = evaluation;
      expect(retryAfterUs).toBeGreaterThan(0);
      expect(retryAfterUs).toBeLessThanOrEqual(2 * check.windowMs * 1000);
      // Probe on copies: a probe must not change the history the sequence goes on with.
      expect(algorithm.evaluate(structuredClone(before), check, nowUs + retryAfterUs - 1).allowed).toBe(
        false,
      );
      expect(algorithm.evaluate(structuredClone(before), check, nowUs + retryAfterUs).allowed).toBe(true);
    });
  });

  it('never counts more than the limit, and resets to empty after resetAfter', () => {
    forEverySequence(name, ({ before, check, nowUs, evaluation }) => {
      const tally = evaluation.allowed ? evaluation.ifRecorded : evaluation.current;
      expect(tally.count).toBeLessThanOrEqual(check.limit);
      expect(tally.count).toBeGreaterThanOrEqual(0);
      const after =
        evaluation.allowed && check.cost > 0
          ? algorithm.record(structuredClone(before), check, nowUs)
          : before;
      const later = algorithm.evaluate(
        structuredClone(after),
        { ...check, cost: 0 },
        nowUs + tally.resetAfterUs,
      );
      expect(later.current.count).toBe(0);
    });
  });

  it('refunds take the count down by the units given back, never below zero', () => {
    // The exact algorithms give back exactly; the estimates (whose counts are rounded from
    // weighted or continuous state) never end up higher than before, nor lower than exact.
    const exact = name === 'sliding-window-log' || name === 'fixed-window';
    forEverySequence(name, ({ before, check, nowUs, evaluation }) => {
      const after =
        evaluation.allowed && check.cost > 0
          ? algorithm.record(structuredClone(before), check, nowUs)
          : structuredClone(before);
      const look = { ...check, cost: 0 };
      const counted = algorithm.evaluate(structuredClone(after), look, nowUs).current.count;
      for (const given of [1, 2, check.limit]) {
        const refunded = algorithm.refund(structuredClone(after), { ...check, cost: given }, nowUs);
        const left = algorithm.evaluate(refunded, look, nowUs).current.count;
        expect(left).toBeGreaterThanOrEqual(Math.max(0, counted - given) - (exact ? 0 : 1));
        if (exact) expect(left).toBe(Math.max(0, counted - given));
        expect(left).toBeLessThanOrEqual(counted);
      }
    });
  });
});
