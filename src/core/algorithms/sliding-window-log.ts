import type { Algorithm } from './algorithm.js';
import { denied, fits } from './algorithm.js';

/** Timestamps (µs) of every recorded unit, ascending; entries before `head` have left the window. */
export interface SlidingLogState {
  times: number[];
  head: number;
}

/** Compact the array once this many entries have left, so trimming stays O(1) amortised. */
const COMPACT_AFTER = 64;

function trim(state: SlidingLogState, nowUs: number, windowUs: number): void {
  const { times } = state;
  // A unit recorded at t is in the window while t > now - window (Redis: ZREMRANGEBYSCORE -inf now-window).
  const edge = nowUs - windowUs;
  let head = state.head;
  while (head < times.length && (times[head] ?? Infinity) <= edge) head++;
  if (head >= COMPACT_AFTER && head * 2 >= times.length) {
    times.splice(0, head);
    head = 0;
  }
  state.head = head;
}

/** Exact sliding window log: admit iff units in (now - window, now] plus cost <= limit. */
export const slidingWindowLog: Algorithm<SlidingLogState> = {
  name: 'sliding-window-log',
  shortName: 'swl',
  // One sorted-set member per unit: the limit bounds the memory of a key (100,000 members: about
  // 12 MB in Redis), and the cost the work of one check (10,000 ZADD members: about 20 ms of
  // Redis time, during which every other client waits).
  maxLimit: 100_000,
  maxCost: 10_000,

  evaluate(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    if (state) trim(state, nowUs, windowUs);
    const times = state?.times ?? [];
    const head = state?.head ?? 0;
    const count = times.length - head;
    const newest = times[times.length - 1] ?? nowUs;
    const current = { count, resetAfterUs: count > 0 ? newest + windowUs - nowUs : 0 };
    if (count + check.cost <= check.limit) {
      if (check.cost === 0) return fits(current, current);
      return fits(current, { count: count + check.cost, resetAfterUs: windowUs });
    }
    // The cost fits once the (count + cost - limit)-th oldest unit has left the window.
    const oldestToLeave = times[head + count + check.cost - check.limit - 1] ?? nowUs;
    return denied(oldestToLeave + windowUs - nowUs, current);
  },

  record(state, check, nowUs) {
    const kept = state ?? { times: [], head: 0 };
    const { times } = kept;
    if (times.length === 0 || (times[times.length - 1] ?? 0) <= nowUs) {
      for (let i = 0; i < check.cost; i++) times.push(nowUs);
    } else {
      // An injected clock may step back; keep the log sorted as the sorted set would.
      let at = times.length;
      while (at > kept.head && (times[at - 1] ?? 0) > nowUs) at--;
      times.splice(at, 0, ...new Array<number>(check.cost).fill(nowUs));
    }
    return kept;
  },

  expiresAtUs(state, check) {
    return (state.times[state.times.length - 1] ?? 0) + check.windowMs * 1000;
  },
};
