import { afterAll, beforeAll, beforeEach, describe } from 'vitest';
import { ManualClock, RateLimiter } from '../../src/index.js';
import type { Store } from '../../src/index.js';
import { describeAlgorithmBoundaries } from './algorithms.js';
import { describeBatches } from './batches.js';
import { CLOCK_START_US } from './context.js';
import type { Conformance, StoreFactory } from './context.js';
import { describeEveryAlgorithm } from './generic.js';
import { describeLeases } from './leases.js';
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
    const clock = new ManualClock(CLOCK_START_US);
    const state = { limiter: undefined as RateLimiter | undefined };
    const context: Conformance = {
      get limiter() {
        if (!state.limiter) throw new Error('the limiter is made in beforeAll');
        return state.limiter;
      },
      clock,
      factory,
      opened,
    };

    // One store for the file (a store per test cost a connection, or a cluster's discovery, each).
    beforeAll(async () => {
      const store = await factory.create(clock);
      opened.push(store);
      state.limiter = new RateLimiter({ store });
    });

    beforeEach(async () => {
      clock.setUs(CLOCK_START_US);
      await factory.reset?.();
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
    describeLeases(context);
  });
}
