import type { Algorithm, Tally } from './algorithm.js';
import { denied, fits } from './algorithm.js';

/** GCRA keeps one number: the theoretical arrival time (µs) of the next unit. */
export interface TokenBucketState {
  tatUs: number;
}

/** Units counted against the limit when the theoretical arrival time is `tatUs`. */
function tallyAt(tatUs: number, nowUs: number, limit: number, windowUs: number): Tally {
  const available = Math.floor(((nowUs + windowUs - tatUs) * limit) / windowUs);
  return { count: limit - available, resetAfterUs: Math.ceil(tatUs - nowUs) };
}

/**
 * Token bucket as GCRA: a burst of `limit` units, refilled at `limit / window`. Exact, O(1): the
 * state is one timestamp, advanced by window / limit per unit spent.
 */
export const tokenBucket: Algorithm<TokenBucketState> = {
  name: 'token-bucket',
  shortName: 'tb',
  maxLimit: 1_000_000_000,

  evaluate(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    const { limit, cost } = check;
    if (limit === 0) {
      const empty = { count: 0, resetAfterUs: 0 };
      return fits(empty, empty); // validation keeps cost <= limit, so only a look is possible
    }
    const tatUs = Math.max(state?.tatUs ?? nowUs, nowUs);
    const current = tallyAt(tatUs, nowUs, limit, windowUs);
    const nextTatUs = tatUs + (cost * windowUs) / limit;
    const allowAtUs = nextTatUs - windowUs;
    if (allowAtUs > nowUs) return denied(Math.ceil(allowAtUs - nowUs), current);
    return fits(current, tallyAt(nextTatUs, nowUs, limit, windowUs));
  },

  record(state, check, nowUs) {
    const tatUs = Math.max(state?.tatUs ?? nowUs, nowUs);
    return { tatUs: tatUs + (check.cost * (check.windowMs * 1000)) / check.limit };
  },

  expiresAtUs(state) {
    return state.tatUs;
  },
};
