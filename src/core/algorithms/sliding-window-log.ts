import type { Algorithm } from './algorithm.js';
import { denied, fits } from './algorithm.js';

/**
 * A weighted log: one entry per admitted check, not per unit, three numbers an entry in one
 * array: the time it was recorded (µs, never decreasing), how many units the log had recorded
 * before it (so the units of any stretch of entries are a difference of two numbers, and the unit
 * that must leave the window for a cost to fit is found by binary search) and its cost. Entries
 * before `head` have left the window.
 */
export interface SlidingLogState {
  log: number[];
  /** Index in `log` of the oldest live entry (a multiple of 3). */
  head: number;
}

const TIME = 0;
const START = 1;
const COST = 2;
const ENTRY = 3;

/** Compact the array once this many numbers have left, so trimming stays O(1) amortised. */
const COMPACT_AFTER = 192;

function at(state: SlidingLogState, index: number, field: number): number {
  return state.log[index + field] ?? 0;
}

function trim(state: SlidingLogState, nowUs: number, windowUs: number): void {
  const { log } = state;
  // An entry recorded at t is in the window while t > now - window (Redis: LINDEX / LPOP).
  const edge = nowUs - windowUs;
  let head = state.head;
  while (head < log.length && (log[head] ?? Infinity) <= edge) head += ENTRY;
  if (head >= COMPACT_AFTER && head * 2 >= log.length) {
    log.splice(0, head);
    head = 0;
  }
  state.head = head;
}

/** Units recorded after the newest entry: where the next entry starts. */
function endOf(state: SlidingLogState): number {
  const last = state.log.length - ENTRY;
  return last < state.head ? 0 : at(state, last, START) + at(state, last, COST);
}

/** The first live entry whose units reach unit number `unit` (counted like starts). */
function entryReaching(state: SlidingLogState, unit: number): number {
  let low = state.head / ENTRY;
  let high = state.log.length / ENTRY - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (at(state, middle * ENTRY, START) + at(state, middle * ENTRY, COST) >= unit) high = middle;
    else low = middle + 1;
  }
  return low * ENTRY;
}

/**
 * Exact sliding window log: admit iff units in (now - window, now] plus cost <= limit. Memory and
 * store work per check do not grow with the cost: a check of 10^9 units is one entry.
 */
export const slidingWindowLog: Algorithm<SlidingLogState> = {
  name: 'sliding-window-log',
  shortName: 'swl',
  // 2: 0.2.0's layout (0.1.0 wrote the same names; docs/redis-store.md#upgrading-from-010).
  keySegment: 'swl2',
  // Memory grows with the checks admitted per window (one entry each), never with their cost.

  evaluate(state, check, nowUs) {
    const windowUs = check.windowMs * 1000;
    if (state === undefined || state.head >= state.log.length) {
      const empty = { count: 0, resetAfterUs: 0 };
      if (check.cost === 0) return fits(empty, empty);
      return fits(empty, { count: check.cost, resetAfterUs: windowUs });
    }
    trim(state, nowUs, windowUs);
    const { head, log } = state;
    const live = head < log.length;
    const oldestStart = live ? at(state, head, START) : 0;
    const count = live ? endOf(state) - oldestStart : 0;
    const newestUs = live ? at(state, log.length - ENTRY, TIME) : nowUs;
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
    return denied(at(state, entry, TIME) + windowUs - nowUs, current);
  },

  record(state, check, nowUs) {
    const kept = state ?? { log: [], head: 0 };
    const { log } = kept;
    const live = kept.head < log.length;
    const newestUs = live ? at(kept, log.length - ENTRY, TIME) : nowUs;
    const start = endOf(kept);
    if (!live && log.length > 0) {
      // Every entry has left the window: start the log over (Redis: DEL before RPUSH).
      log.length = 0;
      kept.head = 0;
    }
    log.push(Math.max(nowUs, newestUs), start, check.cost);
    return kept;
  },

  refund(state, check, nowUs) {
    if (state === undefined) return undefined;
    trim(state, nowUs, check.windowMs * 1000);
    // Newest units first: they are the ones a reservation or a failed request just spent.
    const { log } = state;
    let owed = check.cost;
    while (owed > 0 && log.length > state.head) {
      const last = log.length - ENTRY;
      const cost = at(state, last, COST);
      if (cost > owed) {
        log[last + COST] = cost - owed;
        owed = 0;
      } else {
        owed -= cost;
        log.length = last;
      }
    }
    return state;
  },

  expiresAtUs(state, check) {
    return at(state, state.log.length - ENTRY, TIME) + check.windowMs * 1000;
  },

  stateBytes(state) {
    // The state and its array objects (88), and the array's store: V8 grows it to 1.5 times the
    // length plus 16, so it holds about that many numbers whatever the length is now.
    return 88 + 8 * Math.ceil(state.log.length * 1.5 + 16);
  },
};
