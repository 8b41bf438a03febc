import type {
  Check,
  CheckRequest,
  Decision,
  Outcome,
  PeekRequest,
  RefundRequest,
  ResetRequest,
} from './core/types.js';
import { toDecision } from './core/types.js';
import { InvalidArgumentError, asError } from './core/errors.js';
import { validateBatchCost, validateCheck, validateCounterRef, validatePeek } from './core/validate.js';
import { FailurePolicy } from './failure-policy.js';
import type { FailurePolicyOptions } from './failure-policy.js';
import type { Store } from './stores/store.js';

/** The answer to an atomic batch: `allowed` only if every check was admitted (and then all were recorded). */
export interface BatchDecision {
  allowed: boolean;
  results: Decision[];
}

/**
 * What every transport and wrapper talks to: the RateLimiter, or something that adds to it
 * (metrics) without changing its answers.
 */
export interface Limiter {
  check(request: CheckRequest): Promise<Decision>;
  checkMany(requests: readonly CheckRequest[]): Promise<Decision[]>;
  checkAll(requests: readonly CheckRequest[]): Promise<BatchDecision>;
  peek(request: PeekRequest): Promise<Decision>;
  reset(request: ResetRequest): Promise<void>;
  /**
   * Give back up to `cost` units (default 1) the counter still counts, newest first, never below
   * zero; answers the Decision a zero-cost check would then give.
   */
  refund(request: RefundRequest): Promise<Decision>;
  /** Resolves when the store can answer; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  store: Store;
  /**
   * What to do when the store cannot answer in time. Default `closed`: throw
   * StoreUnavailableError. See FailurePolicy for `open` and `local`.
   */
  failurePolicy?: FailurePolicy | FailurePolicyOptions;
}

/**
 * The library's front door: validates each request, asks the store, and answers a Decision.
 * Being limited is a Decision with `allowed: false`; only bad input and store failures throw.
 */
export class RateLimiter implements Limiter {
  readonly store: Store;
  readonly failurePolicy: FailurePolicy;

  constructor(options: RateLimiterOptions) {
    this.store = options.store;
    const policy = options.failurePolicy ?? { mode: 'closed' };
    this.failurePolicy = policy instanceof FailurePolicy ? policy : new FailurePolicy(policy);
  }

  /** Spend `cost` units (default 1) if the limit allows it; a denied check records nothing. */
  check(request: CheckRequest): Promise<Decision> {
    let check: Check;
    try {
      check = validateCheck(request);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    if (!this.store.checkNow) return this.decide(check);
    // A store that decides in this process answers at once: one promise per check, no chain.
    try {
      return Promise.resolve(toDecision(check, this.store.checkNow(check)));
    } catch (error) {
      return this.decideWithout(check, error);
    }
  }

  /**
   * Independent checks in one store round trip: each is decided on its own, in order, so an early
   * denial does not stop later ones. All inputs are validated before anything is spent.
   */
  async checkMany(requests: readonly CheckRequest[]): Promise<Decision[]> {
    const checks = requests.map((request, index) => withIndex(index, () => validateCheck(request)));
    validateBatchCost(checks);
    return this.failurePolicy.guard(checks, false, async () => {
      const outcomes = await this.store.checkMany(checks);
      return checks.map((check, index) => toDecision(check, outcomes[index] ?? missing(index)));
    });
  }

  /**
   * Several limits at once (per second AND per hour, per user AND per tenant): every check is
   * admitted and recorded, or none is. The checks must address distinct counters. On Redis
   * Cluster they must share one slot (use one key); otherwise InvalidArgumentError names `checks`.
   */
  async checkAll(requests: readonly CheckRequest[]): Promise<BatchDecision> {
    const checks = requests.map((request, index) => withIndex(index, () => validateCheck(request)));
    assertDistinctCounters(checks);
    validateBatchCost(checks);
    if (checks.length === 0) return { allowed: true, results: [] };
    const results = await this.failurePolicy.guard(checks, true, async () => {
      const outcomes = await this.store.checkAll(checks);
      return checks.map((check, index) => toDecision(check, outcomes[index] ?? missing(index)));
    });
    return { allowed: results.every((decision) => decision.allowed), results };
  }

  /** The Decision a zero-cost check would give: spends nothing. */
  async peek(request: PeekRequest): Promise<Decision> {
    return this.decide(validatePeek(request));
  }

  /** Forget the counter of (key, window, algorithm). */
  async reset(request: ResetRequest): Promise<void> {
    await this.store.reset(validateCounterRef(request));
  }

  /**
   * Give back units a request should not have spent (it failed, or used less than it reserved).
   * A store failure throws whatever the failure mode: nothing is known to have been given back.
   */
  async refund(request: RefundRequest): Promise<Decision> {
    const check = validateCheck(request);
    return toDecision(check, await this.store.refund(check));
  }

  async ping(): Promise<void> {
    await this.store.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.store.close(), this.failurePolicy.close()]);
  }

  /** The hot path: no closure or array per check unless the store fails. */
  private async decide(check: Check): Promise<Decision> {
    let outcome: Outcome;
    try {
      outcome = await this.store.check(check);
    } catch (error) {
      return this.decideWithout(check, error);
    }
    return toDecision(check, outcome);
  }

  private async decideWithout(check: Check, error: unknown): Promise<Decision> {
    const [decision] = await this.failurePolicy.decideWithout([check], false, error);
    return decision ?? missing(0);
  }
}

/** Name the failing check of a batch: `checks[3].limit`. */
function withIndex<T>(index: number, validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(`checks[${index}].${error.field ?? ''}`, error.message);
    }
    throw error;
  }
}

function missing(index: number): never {
  throw new Error(`the store returned no outcome for check ${index}`);
}

/** Two checks of one counter in an atomic batch would each see the other's units as unspent. */
function assertDistinctCounters(checks: readonly Check[]): void {
  const seen = new Map<string, number>();
  checks.forEach((check, index) => {
    const id = JSON.stringify([check.key, check.algorithm, check.windowMs]);
    const first = seen.get(id);
    if (first !== undefined) {
      throw new InvalidArgumentError(
        `checks[${index}]`,
        `checks[${index}] addresses the same counter as checks[${first}]; combine their costs into one check`,
      );
    }
    seen.set(id, index);
  });
}
