import type { Algorithm } from './algorithm.js';
import { denied, fits } from './algorithm.js';

/**
 * A weighted log: one entry per admitted check, not per unit. Entry i was recorded at `times[i]`
 * (µs, never decreasing) and holds `costs[i]` units; `starts[i]` is how many units the log had
 * recorded before it, so the units of any stretch of entries are a difference of two numbers and
 * the unit that must leave the window for a cost to fit is found by binary search. Entries
 * before `head` have left the window.
 */
export interface SlidingLogState {
  times: number[];
  starts: number[];
  costs: number[];
  head: number;
}

/** Compact the arrays once this many entries have left, so trimming stays O(1) amortised. */
const COMPACT_AFTER = 64;

function trim(state: SlidingLogState, nowUs: number, windowUs: number): void {
  const { times } = state;
  // An entry recorded at t is in the window while t > now - window (Redis: ZREMRANGEBYSCORE -inf now-window).
  const edge = nowUs - windowUs;
  let head = state.head;
  while (head < times.length && (times[head] ?? Infinity) <= edge) head++;
  if (head >= COMPACT_AFTER && head * 2 >= times.length) {
    times.splice(0, head);
    state.starts.splice(0, head);
    state.costs.splice(0, head);
    head = 0;
  }
  state.head = head;
}

/** Units recorded after the newest entry: where the next entry starts. */
function endOf(state: SlidingLogState): number {
  const last = state.times.length - 1;
  return last < state.head ? 0 : (state.starts[last] ?? 0) + (state.costs[last] ?? 0);
}

/** The first live entry whose units reach unit number `unit` (counted like `starts`). */
function entryReaching(state: SlidingLogState, unit: number): number {
  let low = state.head;
  let high = state.times.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((state.starts[middle] ?? 0) + (state.costs[middle] ?? 0) >= unit) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * Exact sliding window log: admit iff units in (now - window, now] plus cost <= limit. Memory and
 * store work per check do not grow with the cost: a check of 10^9 units is one entry.
 */
export const slidingWindowLog: Algorithm<SlidingLogState> = {
  name: 'sliding-window-log',
  shortName: 'swl',
  // Memory grows with the checks admitted per window (one entry each), never with their cost.
  maxLimit: 1_000_000_000,
  maxCost: 1_000_000_000,

  evaluate(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    if (state === undefined || state.head >= state.times.length) {
      const empty = { count: 0, resetAfterUs: 0 };
      if (check.cost === 0) return fits(empty, empty);
      return fits(empty, { count: check.cost, resetAfterUs: windowUs });
    }
    trim(state, nowUs, windowUs);
    const { head, times } = state;
    const live = head < times.length;
    const oldestStart = live ? (state.starts[head] ?? 0) : 0;
    const count = live ? endOf(state) - oldestStart : 0;
    const newestUs = live ? (times[times.length - 1] ?? nowUs) : nowUs;
    const current = { count, resetAfterUs: live ? newestUs + windowUs - nowUs : 0 };
    if (count + check.cost <= check.limit) {
      if (check.cost === 0) return fits(current, current);
      // Recorded at the newest entry's time if the clock stepped back, so the log stays sorted.
      return fits(current, {
        count: count + check.cost,
        resetAfterUs: Math.max(nowUs, newestUs) + windowUs - nowUs,
      });
    }
    // The cost fits once the (count + cost - limit)-th oldest unit has left the window.
    const entry = entryReaching(state, oldestStart + count + check.cost - check.limit);
    return denied((times[entry] ?? nowUs) + windowUs - nowUs, current);
  },

  record(state, check, nowUs) {
    const kept = state ?? { times: [], starts: [], costs: [], head: 0 };
    const { times } = kept;
    const newestUs = kept.head < times.length ? (times[times.length - 1] ?? nowUs) : nowUs;
    const start = endOf(kept);
    times.push(Math.max(nowUs, newestUs));
    kept.starts.push(start);
    kept.costs.push(check.cost);
    return kept;
  },

  refund(state, check, nowUs) {
    if (state === undefined) return undefined;
    trim(state, nowUs, check.windowMs * 1000);
    // Newest units first: they are the ones a reservation or a failed request just spent.
    let owed = check.cost;
    while (owed > 0 && state.times.length > state.head) {
      const last = state.times.length - 1;
      const cost = state.costs[last] ?? 0;
      if (cost > owed) {
        state.costs[last] = cost - owed;
        owed = 0;
      } else {
        owed -= cost;
        state.times.pop();
        state.starts.pop();
        state.costs.pop();
      }
    }
    return state;
  },

  expiresAtUs(state, check) {
    return (state.times[state.times.length - 1] ?? 0) + check.windowMs * 1000;
  },
};
