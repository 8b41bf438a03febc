import type { Check, Outcome } from '../types.js';

/** What a counter holds at one moment, as a Decision reports it. */
export interface Tally {
  /** Units counted against the limit. */
  count: number;
  /** µs until the counter holds no recorded units. */
  resetAfterUs: number;
}

/**
 * An algorithm's verdict before anything is written: whether the cost fits, the counter as it is,
 * and the counter as it would be once the cost is recorded. Atomic batches need both halves: a
 * check that fits but is not recorded (another check of the batch failed) reports `current`.
 */
export interface Evaluation {
  allowed: boolean;
  /** 0 when allowed; else µs until the same cost would fit (no other traffic assumed). */
  retryAfterUs: number;
  current: Tally;
  ifRecorded: Tally;
}

/**
 * The TypeScript half of an algorithm twin. The Lua half (lua/algorithms/<shortName>.lua) must
 * give the same evaluation for the same sequence of events; the property tests hold them to it.
 *
 * `State` is owned by the store that keeps it: `evaluate` may drop expired parts of it (which
 * never changes a decision) but records nothing; `record` spends the check's cost and is only
 * called for an admitted check with cost > 0; `refund` gives back up to `check.cost` units that
 * still count (never below zero). Both may return the state they were given, changed in place
 * (a store keeps one state object per counter, not one per check).
 */
export interface Algorithm<State> {
  readonly name: string;
  /** Picks the Lua half (lua/algorithms/<shortName>.lua). */
  readonly shortName: string;
  /**
   * The counter's segment in its Redis key (`<prefix>{<key>}:<keySegment>:<window ms>`): the short
   * name and the version of the value's layout. A script that stores another shape or meaning
   * bumps it, so a node of one version never reads a key the other wrote (a WRONGTYPE there is a
   * store failure, which `open` admits for up to the window, during a whole rolling upgrade).
   */
  readonly keySegment: string;
  evaluate(state: State | undefined, check: Check, nowUs: number): Evaluation;
  record(state: State | undefined, check: Check, nowUs: number): State;
  refund(state: State | undefined, check: Check, nowUs: number): State | undefined;
  /** When the state can be forgotten because nothing recorded counts any more (µs). */
  expiresAtUs(state: State, check: Check): number;
  /** About how many bytes of memory the state holds, for an in-process store's bound. */
  stateBytes(state: State): number;
}

/** The outcome a store reports, whether or not the evaluated cost was recorded. */
export function outcomeOf(evaluation: Evaluation, recorded: boolean): Outcome {
  const tally = recorded ? evaluation.ifRecorded : evaluation.current;
  return {
    allowed: recorded,
    count: tally.count,
    retryAfterUs: evaluation.allowed ? 0 : evaluation.retryAfterUs,
    resetAfterUs: tally.resetAfterUs,
  };
}

/** Windows aligned to multiples of the window length since the Unix epoch. */
export function alignedWindow(nowUs: number, windowUs: number): { startUs: number; endUs: number } {
  const startUs = Math.floor(nowUs / windowUs) * windowUs;
  return { startUs, endUs: startUs + windowUs };
}

export function denied(retryAfterUs: number, current: Tally): Evaluation {
  return { allowed: false, retryAfterUs, current, ifRecorded: current };
}

export function fits(current: Tally, ifRecorded: Tally): Evaluation {
  return { allowed: true, retryAfterUs: 0, current, ifRecorded };
}
