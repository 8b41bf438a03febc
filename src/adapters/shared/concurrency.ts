import { InvalidArgumentError } from '../../core/errors.js';
import { parseTtl, validateLeaseLimit } from '../../core/leases.js';
import type { LeaseDecision, LeaseRef } from '../../core/leases.js';
import type { LeaseLimiter } from './limiter.js';
import { validatePolicyName } from './limits.js';

type MaybePromise<T> = T | Promise<T>;

/** The middleware's `concurrency` option: at most `limit` requests of one key in flight at once. */
export interface ConcurrencyOptions<Req> {
  /** Most requests of one key in flight at once, across every process sharing the store (0 .. 10^6). */
  limit: number;
  /**
   * How long a lease lives unless renewed: seconds (number) or "500ms", "30s", "1m"; 100ms .. 1h.
   * The middleware renews it every ttl/2 while the request runs, so the ttl only says how long the
   * slot of a process that died stays taken.
   */
  ttl: number | string;
  /** The key whose requests are counted. Default: the rate limit's key (`key`, or the client address). */
  key?: (request: Req) => MaybePromise<string>;
  /** The policy's name in the RateLimit headers and problem details. Default "concurrency". */
  name?: string;
  /** Told of releases and renewals that failed (the lease then ends at its ttl); never fails a request. */
  onLeaseError?: (error: unknown) => void;
}

/** The option after validation, when the middleware is built. */
export interface ConcurrencyRule<Req> {
  limit: number;
  ttlMs: number;
  name: string;
  key: ((request: Req) => MaybePromise<string>) | undefined;
  onLeaseError: (error: unknown) => void;
  /** The middleware's limiter, checked to keep leases. */
  leases: LeaseLimiter;
}

/** What the concurrency limit decided for a request: on the admission beside the rate decisions. */
export interface LeaseAdmission {
  name: string;
  key: string;
  decision: LeaseDecision;
}

const FIELD = 'concurrency';

export function resolveConcurrency<Req>(
  given: ConcurrencyOptions<Req>,
  limiter: Partial<LeaseLimiter>,
): ConcurrencyRule<Req> {
  // Options come from JavaScript too: every field is checked as if it were unknown.
  const fields: unknown = given;
  if (typeof fields !== 'object' || fields === null) {
    throw new InvalidArgumentError(FIELD, 'concurrency must be an object: { limit, ttl, key? }');
  }
  const { acquireLease, releaseLease, renewLease } = limiter;
  if (
    typeof acquireLease !== 'function' ||
    typeof releaseLease !== 'function' ||
    typeof renewLease !== 'function'
  ) {
    throw new InvalidArgumentError('limiter', 'concurrency needs a RateLimiter (its leases)');
  }
  const { limit, ttl, name, key, onLeaseError } = fields as Record<string, unknown>;
  if (ttl === undefined) throw new InvalidArgumentError(`${FIELD}.ttl`, `${FIELD}.ttl is required`);
  for (const [hook, value] of Object.entries({ key, onLeaseError })) {
    if (value !== undefined && typeof value !== 'function') {
      throw new InvalidArgumentError(`${FIELD}.${hook}`, `${FIELD}.${hook} must be a function`);
    }
  }
  return {
    limit: validateLeaseLimit(limit, `${FIELD}.limit`),
    ttlMs: parseTtl(ttl, `${FIELD}.ttl`),
    name: validatePolicyName(name ?? 'concurrency', `${FIELD}.name`),
    key: given.key,
    onLeaseError: given.onLeaseError ?? (() => undefined),
    leases: limiter as LeaseLimiter,
  };
}

/**
 * A lease one request holds: renewed every ttl/2 while it runs, released once when it ends. A
 * renewal or release that fails is reported and otherwise left alone: the lease ends at its ttl.
 */
export class HeldLease {
  private readonly timer: NodeJS.Timeout;
  private renewing = false;
  private released = false;

  constructor(
    private readonly limiter: LeaseLimiter,
    private readonly ref: LeaseRef,
    private readonly ttlMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.timer = setInterval(
      () => {
        this.renew();
      },
      Math.floor(ttlMs / 2),
    );
    // A request still running keeps its process alive by itself; the timer need not.
    this.timer.unref();
  }

  /** Free the lease's unit; only the first call does anything. */
  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    this.limiter.releaseLease(this.ref).catch(this.onError);
  }

  private renew(): void {
    // A store slower than ttl/2 gets one renewal at a time, not a pile of them.
    if (this.renewing || this.released) return;
    this.renewing = true;
    this.limiter.renewLease({ ...this.ref, ttlMs: this.ttlMs }).then(
      (result) => {
        this.renewing = false;
        if (result.renewed || this.released) return;
        // Expired before it could be renewed (a stalled process, a store that lost it): its unit
        // is free for others already, and reviving it could over-admit.
        clearInterval(this.timer);
        this.onError(new Error('a concurrency lease expired before its renewal'));
      },
      (error: unknown) => {
        this.renewing = false;
        this.onError(error);
      },
    );
  }
}
