import type { Check, CounterRef, Outcome } from '../core/types.js';

/**
 * Where counters live. A store runs an algorithm atomically per check and knows nothing of
 * transports; every store must pass the same conformance suite.
 */
export interface Store {
  /** Short name for logs, metrics and the node registry: "memory", "redis". */
  readonly kind: string;
  /** Decide and, when admitted, record one validated check, atomically. */
  check(check: Check): Promise<Outcome>;
  /** Independent checks, each atomic on its own, in as few round trips as the store allows. */
  checkMany(checks: readonly Check[]): Promise<Outcome[]>;
  /**
   * Atomic batch: every check is admitted and recorded, or none is recorded. The checks must
   * address distinct counters (the limiter enforces it). A store that cannot decide them in one
   * atomic step throws InvalidArgumentError naming `checks`.
   */
  checkAll(checks: readonly Check[]): Promise<Outcome[]>;
  /**
   * Give back up to `check.cost` units the counter still counts (newest first, never below zero),
   * then answer what a zero-cost check would.
   */
  refund(check: Check): Promise<Outcome>;
  /** Forget a counter. */
  reset(counter: CounterRef): Promise<void>;
  /** Resolves when the store can answer checks; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Release connections and timers. Checks after close fail. */
  close(): Promise<void>;
}
