import type {
  Check,
  CheckRequest,
  CounterRef,
  Decision,
  Outcome,
  PeekRequest,
  RefundRequest,
  ResetRequest,
} from './core/types.js';
import { toDecision } from './core/types.js';
import { asError } from './core/errors.js';
import {
  assertDistinctCounters,
  parseCheck,
  parseChecks,
  parseCounter,
  parsePeek,
  parseRefund,
  validateBatchCost,
} from './core/validate.js';
import { FailurePolicy } from './failure-policy.js';
import type { FailurePolicyOptions } from './failure-policy.js';
import type { LeaseStore, OutcomeSink, Store } from './stores/store.js';
import { keepsLeases } from './stores/store.js';
import { parseAcquire, parseRelease, parseRenew, toLeaseDecision, toRenewResult } from './core/leases.js';
import type {
  AcquireRequest,
  LeaseAcquire,
  LeaseDecision,
  LeaseRef,
  LeaseRenewal,
  ReleaseRequest,
  ReleaseResult,
  RenewRequest,
  RenewResult,
} from './core/leases.js';

/** The answer to an atomic batch: `allowed` only if every check was admitted (and then all were recorded). */
export interface BatchDecision {
  allowed: boolean;
  results: Decision[];
}

/**
 * What every transport, adapter and wrapper talks to, once it has parsed what its caller sent
 * (`parseCheck` and its siblings in core/validate.ts): validated checks in, decisions out. The
 * RateLimiter is one; MeteredLimiter adds metrics without changing an answer.
 */
export interface Limiter {
  /** Spend `check.cost` if the limit allows it; a denied check records nothing. */
  decide(check: Check): Promise<Decision>;
  /**
   * The same decision, as a value when the store decides in this process (the memory store: no
   * promise at all) and as a promise otherwise. For transports that can use a value at once.
   */
  decideNow(check: Check): Decision | Promise<Decision>;
  /** Independent checks in as few store round trips as the store allows, each decided on its own. */
  decideMany(checks: readonly Check[]): Promise<Decision[]>;
  /** Every check admitted and recorded, or none (distinct counters; one slot on a Cluster). */
  decideAll(checks: readonly Check[]): Promise<BatchDecision>;
  /** The Decision a zero-cost check of the counter would give; spends nothing. */
  peekCheck(check: Check): Promise<Decision>;
  /**
   * Give back up to `check.cost` units the counter still counts, newest first, never below zero;
   * answers the Decision a zero-cost check would then give.
   */
  refundCheck(check: Check): Promise<Decision>;
  /** Forget a counter. */
  resetCounter(counter: CounterRef): Promise<void>;
  /** Hold a lease if the key's live leases leave room; being full is a decision, not an error. */
  acquireLease(lease: LeaseAcquire): Promise<LeaseDecision>;
  /** Free a live lease of the key; an unknown, expired or released one frees nothing. */
  releaseLease(ref: LeaseRef): Promise<ReleaseResult>;
  /** Extend a live lease; an expired one is not revived. */
  renewLease(renewal: LeaseRenewal): Promise<RenewResult>;
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
 * The library's front door. `check`, `checkMany`, `checkAll`, `peek`, `reset` and `refund` take
 * what a caller writes (`window: "10s"`) and parse it once; `decide` and its siblings take checks
 * already parsed. Being limited is a Decision with `allowed: false`; only bad input and store
 * failures throw.
 */
export class RateLimiter implements Limiter {
  readonly store: Store;
  readonly failurePolicy: FailurePolicy;

  /** What a store that applies outcomes itself (Store.checkInto) makes of them: this limiter's answers. */
  private readonly decisions: OutcomeSink<Decision> = {
    answered: toDecision,
    failed: (check, error) => this.decideWithout(check, error),
  };

  constructor(options: RateLimiterOptions) {
    this.store = options.store;
    const policy = options.failurePolicy ?? { mode: 'closed' };
    this.failurePolicy = policy instanceof FailurePolicy ? policy : new FailurePolicy(policy);
  }

  /** Spend `cost` units (default 1) if the limit allows it; a denied check records nothing. */
  check(request: CheckRequest): Promise<Decision> {
    let check: Check;
    try {
      check = parseCheck(request);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return this.decide(check);
  }

  /**
   * Independent checks in one store round trip: each is decided on its own, in order, so an early
   * denial does not stop later ones. All inputs are validated before anything is spent.
   */
  async checkMany(requests: readonly CheckRequest[]): Promise<Decision[]> {
    return this.decideMany(parseChecks(requests));
  }

  /**
   * Several limits at once (per second AND per hour, per user AND per tenant): every check is
   * admitted and recorded, or none is. The checks must address distinct counters. On Redis
   * Cluster they must share one slot (use one key); otherwise InvalidArgumentError names `checks`.
   */
  async checkAll(requests: readonly CheckRequest[]): Promise<BatchDecision> {
    return this.decideAll(parseChecks(requests));
  }

  /** The Decision a zero-cost check would give: spends nothing. */
  async peek(request: PeekRequest): Promise<Decision> {
    return this.decide(parsePeek(request));
  }

  /** Forget the counter of (key, window, algorithm). */
  async reset(request: ResetRequest): Promise<void> {
    await this.resetCounter(parseCounter(request));
  }

  /**
   * Give back units a request should not have spent (it failed, or used less than it reserved).
   * A cost above the limit gives back at most the limit. A store failure throws whatever the
   * failure mode: nothing is known to have been given back.
   */
  async refund(request: RefundRequest): Promise<Decision> {
    return this.refundCheck(parseRefund(request));
  }

  /**
   * Hold `cost` units (default 1) of the key's concurrency `limit` for up to `ttl`, if its live
   * leases leave room: the decision carries the `leaseId` to release or renew. Being full is a
   * decision with `allowed: false`, holding nothing; a holder that dies frees its units at expiry.
   */
  async acquire(request: AcquireRequest): Promise<LeaseDecision> {
    return this.acquireLease(parseAcquire(request));
  }

  /** Free a lease: idempotent; an unknown, expired or released lease answers `released: false`. */
  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    return this.releaseLease(parseRelease(request));
  }

  /** Extend a live lease to `ttl` from now; an expired one is not revived (`renewed: false`). */
  async renew(request: RenewRequest): Promise<RenewResult> {
    return this.renewLease(parseRenew(request));
  }

  async acquireLease(lease: LeaseAcquire): Promise<LeaseDecision> {
    const store = this.leaseStore();
    try {
      return toLeaseDecision(lease, await store.acquire(lease));
    } catch (error) {
      return this.failurePolicy.acquireWithout(lease, error);
    }
  }

  async releaseLease(ref: LeaseRef): Promise<ReleaseResult> {
    const store = this.leaseStore();
    return this.failurePolicy.settleLease(
      () => store.release(ref),
      (local) => local.release(ref),
      (answer) => answer.released,
    );
  }

  async renewLease(renewal: LeaseRenewal): Promise<RenewResult> {
    const store = this.leaseStore();
    const outcome = await this.failurePolicy.settleLease(
      () => store.renew(renewal),
      (local) => local.renew(renewal),
      (answer) => answer.renewed,
    );
    return toRenewResult(outcome);
  }

  /** The hot path: one promise per check, no closure or array unless the store fails. */
  decide(check: Check): Promise<Decision> {
    if (this.store.checkNow) {
      const decided = this.decideNow(check);
      return decided instanceof Promise ? decided : Promise.resolve(decided);
    }
    if (this.store.checkInto) {
      try {
        return this.store.checkInto(check, this.decisions);
      } catch (error) {
        return this.decideWithout(check, error);
      }
    }
    let outcome: Promise<Outcome>;
    try {
      outcome = this.store.check(check);
    } catch (error) {
      return this.decideWithout(check, error);
    }
    // A `then` rather than an async function: a check costs one derived promise, not a suspended frame.
    return outcome.then(
      (answered) => toDecision(check, answered),
      (error: unknown) => this.decideWithout(check, error),
    );
  }

  /** A store that decides in this process answers at once; a failure goes to the failure policy. */
  decideNow(check: Check): Decision | Promise<Decision> {
    const { store } = this;
    if (!store.checkNow) return this.decide(check);
    try {
      return toDecision(check, store.checkNow(check));
    } catch (error) {
      return this.decideWithout(check, error);
    }
  }

  async decideMany(checks: readonly Check[]): Promise<Decision[]> {
    validateBatchCost(checks);
    return this.failurePolicy.guard(checks, false, async () => {
      const outcomes = await this.store.checkMany(checks);
      return checks.map((check, index) => toDecision(check, outcomes[index] ?? missing(index)));
    });
  }

  async decideAll(checks: readonly Check[]): Promise<BatchDecision> {
    assertDistinctCounters(checks);
    validateBatchCost(checks);
    if (checks.length === 0) return { allowed: true, results: [] };
    const results = await this.failurePolicy.guard(checks, true, async () => {
      const outcomes = await this.store.checkAll(checks);
      return checks.map((check, index) => toDecision(check, outcomes[index] ?? missing(index)));
    });
    return { allowed: results.every((decision) => decision.allowed), results };
  }

  peekCheck(check: Check): Promise<Decision> {
    return this.decide(check.cost === 0 ? check : { ...check, cost: 0 });
  }

  /** A store failure throws whatever the failure mode: nothing is known to have been given back. */
  async refundCheck(check: Check): Promise<Decision> {
    return toDecision(check, await this.store.refund(check));
  }

  async resetCounter(counter: CounterRef): Promise<void> {
    await this.store.reset(counter);
  }

  async ping(): Promise<void> {
    await this.store.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.store.close(), this.failurePolicy.close()]);
  }

  private leaseStore(): LeaseStore {
    const { store } = this;
    if (!keepsLeases(store)) throw new Error(`the ${store.kind} store does not keep leases`);
    return store;
  }

  private async decideWithout(check: Check, error: unknown): Promise<Decision> {
    const [decision] = await this.failurePolicy.decideWithout([check], false, error);
    return decision ?? missing(0);
  }
}

function missing(index: number): never {
  throw new Error(`the store returned no outcome for check ${index}`);
}
