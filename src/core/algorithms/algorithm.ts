import type { Check, Outcome } from '../types.js';

/**
 * The TypeScript half of an algorithm twin. The Lua half (lua/<luaFile>) must give the same
 * outcome for the same sequence of events; the property tests hold them to it.
 *
 * `State` is owned by the store that keeps it: `evaluate` may drop expired parts of it (which
 * never changes a decision) but records nothing; `record` spends the check's cost and is only
 * called for an admitted check.
 */
export interface Algorithm<State> {
  readonly name: string;
  /** Used in Redis keys: `<prefix>{<key>}:<shortName>:<window ms>`. */
  readonly shortName: string;
  readonly luaFile: string;
  /** Largest limit accepted: bounds the memory one counter may take. */
  readonly maxLimit: number;
  evaluate(state: State | undefined, check: Check, nowUs: number): Outcome;
  record(state: State | undefined, check: Check, nowUs: number): State;
  /** When the state can be forgotten because no recorded unit is left (µs). */
  expiresAtUs(state: State, check: Check): number;
}
