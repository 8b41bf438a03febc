import type { Algorithm, Tally } from './algorithm.js';
import { denied, fits } from './algorithm.js';

/**
 * GCRA's theoretical arrival time (TAT), kept as `atUs + debtUs`: the time of the last admission
 * (an integer) and how far the TAT ran ahead of it. An absolute TAT near 1.7e15 µs would only be
 * exact to 0.25 µs, enough to miscount a bucket whose refill interval is not a whole number of
 * quarter microseconds (limit 7 per second); the debt is small and exact to far below that.
 */
export interface TokenBucketState {
  atUs: number;
  debtUs: number;
}

/**
 * Slack for floating-point sums of `window / limit` (seven sevenths of a second may add up to a
 * hair over one second): a billionth of the window, far below a microsecond for any window
 * under 16 minutes and never more than 32 ms.
 */
function slackUs(windowUs: number): number {
  return windowUs * 1e-9;
}

/** Units counted against the limit when the TAT is `debtUs` ahead of now (a debt within the slack is none). */
function tallyAt(debtUs: number, limit: number, windowUs: number): Tally {
  const owedUs = Math.max(0, debtUs - slackUs(windowUs));
  const available = Math.floor(((windowUs - owedUs) * limit) / windowUs + 1e-9);
  return { count: Math.max(0, limit - available), resetAfterUs: Math.ceil(owedUs) };
}

function debtAt(state: TokenBucketState | undefined, nowUs: number): number {
  return state ? Math.max(0, state.debtUs - (nowUs - state.atUs)) : 0;
}

/**
 * Token bucket as GCRA: a burst of `limit` units, refilled at `limit / window`. Exact, O(1): a
 * check is admitted iff the TAT, advanced by window / limit per unit, stays within one window of now.
 */
export const tokenBucket: Algorithm<TokenBucketState> = {
  name: 'token-bucket',
  shortName: 'tb',
  // 2: 0.2.0's layout (0.1.0 wrote the same names; docs/redis-store.md#upgrading-from-010).
  keySegment: 'tb2',

  evaluate(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    const { limit, cost } = check;
    if (limit === 0) {
      const empty = { count: 0, resetAfterUs: 0 };
      return fits(empty, empty); // validation keeps cost <= limit, so only a look is possible
    }
    const debtUs = debtAt(state, nowUs);
    const current = tallyAt(debtUs, limit, windowUs);
    const nextDebtUs = debtUs + (cost * windowUs) / limit;
    const lateUs = nextDebtUs - windowUs - slackUs(windowUs);
    if (lateUs > 0) return denied(Math.ceil(lateUs), current);
    return fits(current, tallyAt(nextDebtUs, limit, windowUs));
  },

  record(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    const debtUs = debtAt(state, nowUs) + (check.cost * windowUs) / check.limit;
    if (state === undefined) return { atUs: nowUs, debtUs };
    // In place: a state the store already holds stays where it is (no new object per check).
    state.atUs = nowUs;
    state.debtUs = debtUs;
    return state;
  },

  refund(state, check, nowUs) {
    if (state === undefined || check.limit === 0) return state;
    const windowUs = check.windowMs * 1000;
    // A unit given back is one refill interval of debt forgiven; debt never goes below none.
    return { atUs: nowUs, debtUs: Math.max(0, debtAt(state, nowUs) - (check.cost * windowUs) / check.limit) };
  },

  expiresAtUs(state) {
    return state.atUs + Math.ceil(state.debtUs);
  },

  // An object of two numbers, both boxed (a time and a fraction).
  stateBytes: () => 72,
};
