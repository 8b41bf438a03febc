import { InvalidArgumentError } from '../../core/errors.js';
import { validateKey } from '../../core/validate.js';
import { quotaExceededProblem } from '../../protocol/headers.js';
import type { HeaderPair } from '../../protocol/headers.js';
import { clientAddressKey, DEFAULT_IPV6_SUBNET } from './client-address.js';
import { failureResponse } from './errors.js';
import type { FailureResponse } from './errors.js';
import { HEADER_MODES, admissionHeaders, admissionPolicies } from './headers.js';
import type { HeaderMode } from './headers.js';
import { HeldLease, resolveConcurrency } from './concurrency.js';
import type { ConcurrencyOptions, ConcurrencyRule } from './concurrency.js';
import type { AdapterLimiter, LeaseLimiter } from './limiter.js';
import { admit, refund, resolveRules } from './limits.js';
import type { Admission, ResolvedRule, RuleOptions } from './limits.js';

type MaybePromise<T> = T | Promise<T>;

/** The options every framework's middleware shares; `Req` is that framework's request (or context). */
export interface MiddlewareOptions<Req> extends RuleOptions {
  /** A RateLimiter (or MeteredLimiter) over any store; `concurrency` needs a RateLimiter. */
  limiter: AdapterLimiter & Partial<LeaseLimiter>;
  /**
   * At most `limit` requests of a key in flight at once, held by a lease from before the handler
   * until the response ends or the client goes away. Alone, or beside rate limits: those are
   * checked first, and a request they refuse takes no lease.
   */
  concurrency?: ConcurrencyOptions<Req>;
  /** The counter's key. Default: the client address as the framework resolves it (its trust-proxy setting). */
  key?: (request: Req) => MaybePromise<string>;
  /**
   * With the default key, an IPv6 client counts by this prefix of its address (default 56): one
   * client can take any address of its subnet. `false` counts each address alone.
   */
  ipv6Subnet?: number | false;
  /**
   * Prepended to every key, so that two middlewares on one limiter (a login route at 5 per minute,
   * the whole API at 100 per minute) never share a counter. Default "".
   */
  prefix?: string;
  /** Units this request spends. Default 1; 0 looks without spending. */
  cost?: (request: Req) => MaybePromise<number>;
  /** Which headers to send. Default `draft-11`. */
  headers?: HeaderMode;
  /**
   * Answer a limited request with an RFC 9457 problem (`application/problem+json`, type
   * `quota-exceeded`, `violated-policies` naming the limits that refused) instead of the product's
   * JSON error shape. Ignored when `message` is given. Default false.
   */
  problemDetails?: boolean;
  /** Requests for which this returns true are neither counted nor limited. */
  skip?: (request: Req) => MaybePromise<boolean>;
  /** Give the units back when the response failed (status >= 400, or the client went away). */
  skipFailedRequests?: boolean;
  /** Give the units back when the response succeeded (status < 400). */
  skipSuccessfulRequests?: boolean;
  /** Decides what `skipFailedRequests` / `skipSuccessfulRequests` call a success. Default: status < 400. */
  requestWasSuccessful?: (statusCode: number) => boolean;
  /** Status of a limited request. Default 429. */
  statusCode?: number;
  /** Body of a limited request. Default: the product's JSON error shape with code `rate_limited`. */
  message?: unknown;
  /** Status when the limiter cannot decide (store unreachable in the closed mode, or overloaded). Default 503. */
  unavailableStatusCode?: number;
  /** Told of refunds that failed; they never fail the request. Default: ignored. */
  onRefundError?: (error: unknown) => void;
}

/** What the middleware does with one request. */
export type Verdict =
  | { kind: 'skip' }
  | PassVerdict
  | {
      kind: 'limited';
      admission: Admission;
      headers: HeaderPair[];
      statusCode: number;
      body: unknown;
      /** Set when the body is not the product's JSON error shape: `application/problem+json`. */
      contentType?: string;
    }
  | ({ kind: 'failed' } & FailureResponse);

/** An admitted request, with the lease it holds when the middleware has a concurrency limit. */
export interface PassVerdict {
  kind: 'pass';
  admission: Admission;
  headers: HeaderPair[];
  lease?: HeldLease;
}

const PROBLEM_JSON = 'application/problem+json';

/** The default body of a limited request: the product's one error shape. */
export function limitedBody(admission: Admission): { error: { code: string; message: string } } {
  const lease = admission.concurrency?.decision;
  const decisions = lease ? [...admission.decisions, lease] : admission.decisions;
  const waitMs = Math.max(0, ...decisions.filter((d) => !d.allowed).map((d) => d.retryAfterMs));
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const what = lease?.allowed === false ? 'too many requests in flight' : 'too many requests';
  return { error: { code: 'rate_limited', message: `${what}: retry in ${seconds} s` } };
}

function statusOption(value: number | undefined, fallback: number, field: string): number {
  const status = value ?? fallback;
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new InvalidArgumentError(field, `${field} must be an HTTP error status (400..599)`);
  }
  return status;
}

/**
 * The framework-free middle of every middleware: skip, key, cost, the checks, the headers, the
 * answer to a limited request, the refunds of skipped outcomes. Each framework adapter only reads
 * its request and writes its response.
 */
export class RateLimitCore<Req> {
  readonly rules: readonly ResolvedRule[];
  private readonly limiter: AdapterLimiter;
  private readonly concurrency: ConcurrencyRule<Req> | undefined;
  private readonly headerMode: HeaderMode;
  private readonly statusCode: number;
  private readonly unavailableStatus: number;
  private readonly succeeded: (statusCode: number) => boolean;
  private readonly ipv6Subnet: number | false;

  constructor(
    private readonly options: MiddlewareOptions<Req>,
    private readonly defaultKey: (request: Req) => string | undefined,
  ) {
    if (typeof options.limiter !== 'object' || typeof options.limiter.decide !== 'function') {
      throw new InvalidArgumentError('limiter', 'limiter must be a RateLimiter');
    }
    this.limiter = options.limiter;
    this.concurrency =
      options.concurrency === undefined
        ? undefined
        : resolveConcurrency(options.concurrency, options.limiter);
    const noRates =
      options.limits === undefined && options.limit === undefined && options.window === undefined;
    this.rules = this.concurrency && noRates ? [] : resolveRules(options);
    this.headerMode = options.headers ?? 'draft-11';
    if (!HEADER_MODES.includes(this.headerMode)) {
      throw new InvalidArgumentError(
        'headers',
        "headers must be 'draft-11', 'draft-10', 'legacy', 'both' or false",
      );
    }
    this.statusCode = statusOption(options.statusCode, 429, 'statusCode');
    this.unavailableStatus = statusOption(options.unavailableStatusCode, 503, 'unavailableStatusCode');
    this.succeeded = options.requestWasSuccessful ?? ((status) => status < 400);
    this.ipv6Subnet = options.ipv6Subnet ?? DEFAULT_IPV6_SUBNET;
    if (
      this.ipv6Subnet !== false &&
      (!Number.isInteger(this.ipv6Subnet) || this.ipv6Subnet < 1 || this.ipv6Subnet > 128)
    ) {
      throw new InvalidArgumentError('ipv6Subnet', 'ipv6Subnet must be an integer 1..128, or false');
    }
  }

  /** True when some outcome of the response may give the units back: the adapter must report it. */
  get settles(): boolean {
    return this.options.skipFailedRequests === true || this.options.skipSuccessfulRequests === true;
  }

  async evaluate(request: Req): Promise<Verdict> {
    if ((await this.options.skip?.(request)) === true) return { kind: 'skip' };
    try {
      const key = this.rules.length > 0 || !this.concurrency?.key ? await this.keyOf(request) : '';
      const leaseKey = this.concurrency && (await this.leaseKeyOf(request, key));
      let admission = await this.admitRates(request, key);
      let lease: HeldLease | undefined;
      if (admission.allowed && leaseKey !== undefined)
        ({ admission, lease } = await this.hold(admission, leaseKey));
      const headers = admissionHeaders(this.headerMode, admission);
      if (admission.allowed) return { kind: 'pass', admission, headers, ...(lease ? { lease } : {}) };
      const { statusCode } = this;
      if (this.options.message !== undefined) {
        return { kind: 'limited', admission, headers, statusCode, body: this.options.message };
      }
      if (this.options.problemDetails === true) {
        const body = quotaExceededProblem(admissionPolicies(admission), statusCode);
        return { kind: 'limited', admission, headers, statusCode, body, contentType: PROBLEM_JSON };
      }
      return { kind: 'limited', admission, headers, statusCode, body: limitedBody(admission) };
    } catch (error) {
      const failure = failureResponse(error, this.unavailableStatus);
      if (failure) return { kind: 'failed', ...failure };
      throw error;
    }
  }

  /** True when the adapter must report how a passed request's response ended (`end`). */
  mustEnd(verdict: PassVerdict): boolean {
    return this.settles || verdict.lease !== undefined;
  }

  /** A passed request's response is over (see settle): give back what its outcome says, free its lease. */
  end(verdict: PassVerdict, statusCode: number | undefined): void {
    verdict.lease?.release();
    this.settle(verdict.admission, statusCode);
  }

  /**
   * The response is over: `statusCode`, or undefined when it never completed (the client went
   * away, the handler threw). Refunds run in the background; they never fail the request.
   */
  settle(admission: Admission, statusCode: number | undefined): void {
    if (!this.settles || !admission.allowed) return;
    const success = statusCode !== undefined && this.succeeded(statusCode);
    const giveBack = success
      ? this.options.skipSuccessfulRequests === true
      : this.options.skipFailedRequests === true;
    if (!giveBack) return;
    refund(this.limiter, admission).catch((error: unknown) => {
      this.options.onRefundError?.(error);
    });
  }

  /** The rate limits' decision; with none (a concurrency limit alone), an admission of nothing. */
  private async admitRates(request: Req, key: string): Promise<Admission> {
    if (this.rules.length === 0) return { allowed: true, key, cost: 0, rules: [], decisions: [] };
    const cost = (await this.options.cost?.(request)) ?? 1;
    if (!Number.isInteger(cost) || cost < 0) {
      throw new InvalidArgumentError('cost', 'cost must be an integer >= 0');
    }
    return admit(this.limiter, this.rules, key, cost);
  }

  private async leaseKeyOf(request: Req, rateKey: string): Promise<string> {
    const own = this.concurrency?.key;
    if (!own) return rateKey;
    return validateKey(`${this.options.prefix ?? ''}${await own(request)}`, 'concurrency.key');
  }

  /**
   * One unit of the concurrency limit for a request the rate limits admitted. Refused, or failed,
   * the request is not served: what the rate limits charged it is given back, so that a client
   * waiting for a free slot does not spend its rate quota meanwhile.
   */
  private async hold(
    admission: Admission,
    key: string,
  ): Promise<{ admission: Admission; lease?: HeldLease }> {
    const rule = this.concurrency as ConcurrencyRule<Req>;
    const { leases } = rule;
    let decision;
    try {
      decision = await leases.acquireLease({ key, limit: rule.limit, ttlMs: rule.ttlMs, cost: 1 });
    } catch (error) {
      this.giveBack(admission);
      throw error;
    }
    if (!decision.allowed) this.giveBack(admission);
    const held = { ...admission, allowed: decision.allowed, concurrency: { name: rule.name, key, decision } };
    // Without an id (the open failure mode admitted it without the store), there is nothing to free.
    if (decision.leaseId === undefined) return { admission: held };
    const ref = { key, leaseId: decision.leaseId };
    return { admission: held, lease: new HeldLease(leases, ref, rule.ttlMs, rule.onLeaseError) };
  }

  private giveBack(admission: Admission): void {
    if (admission.rules.length === 0) return;
    refund(this.limiter, admission).catch((error: unknown) => {
      this.options.onRefundError?.(error);
    });
  }

  private async keyOf(request: Req): Promise<string> {
    let key: string;
    if (this.options.key) key = await this.options.key(request);
    else {
      const address = this.defaultKey(request);
      if (address === undefined) {
        throw new InvalidArgumentError('key', 'the client address is unknown: pass a `key` function');
      }
      key = clientAddressKey(address, this.ipv6Subnet);
    }
    return validateKey(`${this.options.prefix ?? ''}${key}`);
  }
}
