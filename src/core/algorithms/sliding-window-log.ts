import type { Outcome } from '../types.js';
import type { Algorithm } from './algorithm.js';

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

function newest(state: SlidingLogState): number {
  return state.times[state.times.length - 1] ?? 0;
}

/** Exact sliding window log: admit iff units in (now - window, now] plus cost <= limit. */
export const slidingWindowLog: Algorithm<SlidingLogState> = {
  name: 'sliding-window-log',
  shortName: 'swl',
  luaFile: 'sliding-window-log.lua',
  // One sorted-set member per unit: the limit bounds the memory of a key.
  maxLimit: 1_000_000,

  evaluate(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    if (state) trim(state, nowUs, windowUs);
    const count = state ? state.times.length - state.head : 0;
    if (count + check.cost <= check.limit) {
      const after = count + check.cost;
      const latest = check.cost > 0 ? nowUs : state ? newest(state) : nowUs;
      return outcome(true, after, 0, after > 0 ? latest + windowUs - nowUs : 0);
    }
    // state is defined here: with no state count is 0 and cost <= limit always passes.
    const times = state?.times ?? [];
    const head = state?.head ?? 0;
    const mustLeave = count + check.cost - check.limit;
    const oldestToLeave = times[head + mustLeave - 1] ?? nowUs;
    return outcome(
      false,
      count,
      oldestToLeave + windowUs - nowUs,
      count > 0 && state ? newest(state) + windowUs - nowUs : 0,
    );
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
    return newest(state) + check.windowMs * 1000;
  },
};

function outcome(allowed: boolean, count: number, retryAfterUs: number, resetAfterUs: number): Outcome {
  return { allowed, count, retryAfterUs, resetAfterUs };
}
