import { afterAll, beforeEach, describe } from 'vitest';
import { ManualClock, RateLimiter } from '../../src/index.js';
import type { Store } from '../../src/index.js';
import { describeAlgorithmBoundaries } from './algorithms.js';
import { describeBatches } from './batches.js';
import type { Conformance, StoreFactory } from './context.js';
import { describeEveryAlgorithm } from './generic.js';
import { describeRefunds } from './refunds.js';
import { describeSlidingWindowLog } from './sliding-window-log.js';
import { describeValidation } from './validation.js';

export type { StoreFactory } from './context.js';

/**
 * The behaviour every store promises (design.md section 2). Run unchanged against each store:
 * a difference between stores is a bug.
 */
export function describeConformance(storeName: string, factory: StoreFactory): void {
  describe(`conformance: ${storeName}`, () => {
    const opened: Store[] = [];
    const state = { limiter: undefined as RateLimiter | undefined, clock: new ManualClock() };
    const context: Conformance = {
      get limiter() {
        if (!state.limiter) throw new Error('the limiter is made in beforeEach');
        return state.limiter;
      },
      get clock() {
        return state.clock;
      },
      factory,
      opened,
    };

    beforeEach(async () => {
      state.clock = new ManualClock();
      const store = await factory.create(state.clock);
      opened.push(store);
      state.limiter = new RateLimiter({ store });
    });

    afterAll(async () => {
      await Promise.all(opened.map((store) => store.close()));
      await factory.teardown?.();
    });

    describeEveryAlgorithm(context);
    describeSlidingWindowLog(context);
    describeAlgorithmBoundaries(context);
    describeBatches(context);
    describeRefunds(context);
    describeValidation(context);
  });
}
