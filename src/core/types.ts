import type { AlgorithmName } from './algorithms/index.js';

/** A check as the caller writes it. */
export interface CheckRequest {
  key: string;
  limit: number;
  /** Seconds (number) or a duration string: "500ms", "10s", "1m", "1h", "1d". */
  window: number | string;
  /** Units to spend; 0 looks without spending. Default 1. */
  cost?: number;
  algorithm?: AlgorithmName | (string & {});
}

export interface PeekRequest {
  key: string;
  limit: number;
  window: number | string;
  algorithm?: AlgorithmName | (string & {});
}

export interface ResetRequest {
  key: string;
  window: number | string;
  algorithm?: AlgorithmName | (string & {});
}

/** Units to give back to a counter (a request that should not have counted, an unused reservation). */
export interface RefundRequest {
  key: string;
  limit: number;
  window: number | string;
  /** Units to give back, newest first; at most what the current window holds. Default 1. */
  cost?: number;
  algorithm?: AlgorithmName | (string & {});
}

/** A check after validation: what stores and algorithms receive. */
export interface Check {
  key: string;
  limit: number;
  windowMs: number;
  cost: number;
  algorithm: AlgorithmName;
}

/** The counter a check addresses: distinct counters never share history. */
export type CounterRef = Pick<Check, 'key' | 'windowMs' | 'algorithm'>;

/** What an algorithm decides, in microseconds (the resolution both twins compute in). */
export interface Outcome {
  allowed: boolean;
  /** Units recorded in the current window after the decision. */
  count: number;
  /** 0 when allowed; else how long until the same cost would be admitted. */
  retryAfterUs: number;
  /** How long until the counter holds no recorded units. */
  resetAfterUs: number;
}

/** The answer to a check. Being denied is data, not an error. */
export interface Decision {
  allowed: boolean;
  limit: number;
  remaining: number;
  count: number;
  retryAfterMs: number;
  resetAfterMs: number;
  /** The validated window, in ms: what `window` meant, so no transport parses it again. */
  windowMs: number;
  /** The algorithm that decided (the default when the request named none). */
  algorithm: AlgorithmName;
  /** Present and true only when the store was unreachable and a failure policy let the check through. */
  degraded?: true;
}

export function toDecision(check: Check, outcome: Outcome): Decision {
  return {
    allowed: outcome.allowed,
    limit: check.limit,
    remaining: Math.max(0, check.limit - outcome.count),
    count: outcome.count,
    // Rounded up: a client that waits exactly this long must not be denied again for the same reason.
    retryAfterMs: outcome.allowed ? 0 : Math.ceil(outcome.retryAfterUs / 1000),
    resetAfterMs: Math.ceil(outcome.resetAfterUs / 1000),
    windowMs: check.windowMs,
    algorithm: check.algorithm,
  };
}
