import type { Check, CounterRef, Outcome } from '../core/types.js';
import type {
  AcquireOutcome,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  ReleaseOutcome,
  RenewOutcome,
} from '../core/leases.js';

/** What a store has seen, for metrics; each store reports what applies to it. */
export interface StoreStats {
  /** Checks waiting for a place in a store call. */
  queued?: number;
  /** Store calls awaiting their reply. */
  inFlight?: number;
  /** Checks refused because too many were waiting (overloaded). */
  shed?: number;
  /** Calls that timed out waiting on the store. */
  timeouts?: number;
  /** Replies that came after their call had timed out. */
  lateReplies?: number;
  /** Units recorded by checks whose callers had been told the call timed out. */
  lateAdmittedUnits?: number;
  /** Checks answered from remembered denials, without a store call. */
  denyCacheHits?: number;
  /** Deny-cache invalidations not published, or a subscription refused (the cache then keeps nothing). */
  invalidationFailures?: number;
  /** Counters held (in-process stores). */
  counters?: number;
  /** Counters dropped to stay within the store's bound before their window passed. */
  evictions?: number;
}

/**
 * What a caller makes of a check's outcome, handed to a store that can apply it itself (see
 * Store.checkInto): the limiter's Decision, or its failure policy's answer.
 */
export interface OutcomeSink<T> {
  answered(check: Check, outcome: Outcome): T;
  /** The check failed (the store, overload): what the caller answers instead, or a rejection. */
  failed(check: Check, error: unknown): T | Promise<T>;
}

/**
 * Where counters live. A store runs an algorithm atomically per check and knows nothing of
 * transports; every store must pass the same conformance suite.
 */
export interface Store {
  /** Short name for logs, metrics and the node registry: "memory", "redis". */
  readonly kind: string;
  /** Decide and, when admitted, record one validated check, atomically. */
  check(check: Check): Promise<Outcome>;
  /**
   * The same, answered at once, for a store that decides in this process (the memory store): the
   * limiter then makes one promise per check instead of a chain. Throws as check() rejects.
   */
  checkNow?(check: Check): Outcome;
  /**
   * check(), with the outcome made into the caller's answer by `sink` before the store's promise
   * settles: a remote store's check then costs its caller one promise, not one derived from
   * another. Optional; a store without it is called with check().
   */
  checkInto?<T>(check: Check, sink: OutcomeSink<T>): Promise<T>;
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
  /** What the store has seen so far, for metrics. */
  stats?(): StoreStats;
  /**
   * Take a lease of `lease.cost` units iff the key's live leases plus the cost fit its limit,
   * atomically; a denied acquire holds nothing. The store makes the lease id.
   */
  acquire?(lease: LeaseAcquire): Promise<AcquireOutcome>;
  /** Free a live lease of the key; an unknown, expired or released one frees nothing. */
  release?(ref: LeaseRef): Promise<ReleaseOutcome>;
  /** Extend a live lease to `ttlMs` from now; an expired one is not revived. */
  renew?(renewal: LeaseRenewal): Promise<RenewOutcome>;
}

/** A store that keeps leases (concurrency limits) beside its counters. */
export type LeaseStore = Store & Required<Pick<Store, 'acquire' | 'release' | 'renew'>>;

export function keepsLeases(store: Store): store is LeaseStore {
  return store.acquire !== undefined && store.release !== undefined && store.renew !== undefined;
}
