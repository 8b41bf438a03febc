import type { Algorithm, Tally } from './algorithm.js';
import { alignedWindow, denied, fits } from './algorithm.js';

export interface SlidingCounterState {
  windowStartUs: number;
  current: number;
  previous: number;
}

interface Counts {
  previous: number;
  current: number;
  startUs: number;
  endUs: number;
}

function countsAt(state: SlidingCounterState | undefined, nowUs: number, windowUs: number): Counts {
  const { startUs, endUs } = alignedWindow(nowUs, windowUs);
  if (state?.windowStartUs === startUs)
    return { previous: state.previous, current: state.current, startUs, endUs };
  if (state?.windowStartUs === startUs - windowUs)
    return { previous: state.current, current: 0, startUs, endUs };
  return { previous: 0, current: 0, startUs, endUs };
}

/**
 * The previous window's count weighted by how much of it still overlaps the sliding window.
 * Both twins compute this with the same floating-point operations in the same order.
 */
function weightedPrevious(previous: number, elapsedUs: number, windowUs: number): number {
  return (previous * (windowUs - elapsedUs)) / windowUs;
}

function tally(
  previous: number,
  current: number,
  elapsedUs: number,
  windowUs: number,
  endUs: number,
  nowUs: number,
): Tally {
  const estimate = weightedPrevious(previous, elapsedUs, windowUs) + current;
  // The current window's units still weigh on the next window, until its end.
  const resetAfterUs = current > 0 ? endUs - nowUs + windowUs : previous > 0 ? endUs - nowUs : 0;
  return { count: Math.ceil(estimate), resetAfterUs };
}

/**
 * Sliding window counter (the estimate Cloudflare published): O(1) state, approximate. It assumes
 * the previous window's units were spread evenly; see docs/algorithms.md for the error bound.
 */
export const slidingWindowCounter: Algorithm<SlidingCounterState> = {
  name: 'sliding-window-counter',
  shortName: 'swc',
  // 2: 0.2.0's layout (0.1.0 wrote the same names; docs/redis-store.md#upgrading-from-010).
  keySegment: 'swc2',

  evaluate(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    const { previous, current, startUs, endUs } = countsAt(state, nowUs, windowUs);
    const elapsedUs = nowUs - startUs;
    const now = tally(previous, current, elapsedUs, windowUs, endUs, nowUs);
    const estimate = weightedPrevious(previous, elapsedUs, windowUs) + current;
    if (estimate + check.cost <= check.limit) {
      if (check.cost === 0) return fits(now, now);
      return fits(now, tally(previous, current + check.cost, elapsedUs, windowUs, endUs, nowUs));
    }
    return denied(retryAfterUs(previous, current, check.limit - check.cost, elapsedUs, windowUs), now);
  },

  record(state, check, nowUs) {
    const { previous, current, startUs } = countsAt(state, nowUs, check.windowMs * 1000);
    if (state === undefined) return { windowStartUs: startUs, previous, current: current + check.cost };
    // In place: a state the store already holds stays where it is (no new object per check).
    state.windowStartUs = startUs;
    state.previous = previous;
    state.current = current + check.cost;
    return state;
  },

  refund(state, check, nowUs) {
    if (state === undefined) return undefined;
    const { previous, current, startUs } = countsAt(state, nowUs, check.windowMs * 1000);
    // This window's units first; what is left comes off the previous window's, which still weigh.
    const fromCurrent = Math.min(current, check.cost);
    const fromPrevious = Math.min(previous, check.cost - fromCurrent);
    return { windowStartUs: startUs, previous: previous - fromPrevious, current: current - fromCurrent };
  },

  expiresAtUs(state, check) {
    return state.windowStartUs + 2 * check.windowMs * 1000;
  },

  // An object of three numbers, one of them boxed (a time in µs is no small integer).
  stateBytes: () => 64,
};

/** µs until the weighted estimate leaves room for the cost, with no other traffic. */
function retryAfterUs(
  previous: number,
  current: number,
  room: number,
  elapsedUs: number,
  windowUs: number,
): number {
  if (room - current >= 0 && previous > 0) {
    // Later in this window: previous * (W - e) / W <= room - current.
    const neededElapsed = windowUs - ((room - current) * windowUs) / previous;
    return Math.max(1, Math.ceil(neededElapsed - elapsedUs));
  }
  // Only in the next window, where this window's count becomes the weighted one.
  const untilNext = windowUs - elapsedUs;
  if (current <= room) return untilNext;
  return untilNext + Math.ceil(windowUs - (room * windowUs) / current);
}
