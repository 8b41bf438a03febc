import type { Algorithm } from './algorithm.js';
import { alignedWindow, denied, fits } from './algorithm.js';

export interface FixedWindowState {
  windowStartUs: number;
  count: number;
}

/**
 * Fixed window, aligned to multiples of the window since the Unix epoch (as Envoy's reference
 * service does): exact within a window, O(1), but up to 2 x limit across a window edge.
 */
export const fixedWindow: Algorithm<FixedWindowState> = {
  name: 'fixed-window',
  shortName: 'fw',
  // 2: 0.2.0's layout (0.1.0 wrote the same names; docs/redis-store.md#upgrading-from-010).
  keySegment: 'fw2',

  evaluate(state, check, nowUs) {
    const { startUs, endUs } = alignedWindow(nowUs, check.windowMs * 1000);
    const count = state?.windowStartUs === startUs ? state.count : 0;
    const current = { count, resetAfterUs: count > 0 ? endUs - nowUs : 0 };
    if (count + check.cost > check.limit) return denied(endUs - nowUs, current);
    if (check.cost === 0) return fits(current, current);
    return fits(current, { count: count + check.cost, resetAfterUs: endUs - nowUs });
  },

  record(state, check, nowUs) {
    const { startUs } = alignedWindow(nowUs, check.windowMs * 1000);
    if (state === undefined) return { windowStartUs: startUs, count: check.cost };
    // In place: a state the store already holds stays where it is (no new object per check).
    state.count = state.windowStartUs === startUs ? state.count + check.cost : check.cost;
    state.windowStartUs = startUs;
    return state;
  },

  refund(state, check, nowUs) {
    const { startUs } = alignedWindow(nowUs, check.windowMs * 1000);
    // Units of an earlier window no longer count: there is nothing of theirs to give back.
    if (state?.windowStartUs !== startUs) return state;
    return { windowStartUs: startUs, count: Math.max(0, state.count - check.cost) };
  },

  expiresAtUs(state, check) {
    return state.windowStartUs + check.windowMs * 1000;
  },

  // An object of two numbers, one of them boxed (a time in µs is no small integer).
  stateBytes: () => 56,
};
