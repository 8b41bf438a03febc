import { StoreUnavailableError } from '../../core/errors.js';
import type { Check, CounterRef, Outcome } from '../../core/types.js';
import type {
  AcquireOutcome,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  ReleaseOutcome,
  RenewOutcome,
} from '../../core/leases.js';
import { checkToWire, decisionFromWire } from '../../protocol/decision.js';
import { errorFromReply } from '../../protocol/errors.js';
import {
  acquireToWire,
  leaseDecisionFromWire,
  releaseFromWire,
  renewFromWire,
} from '../../protocol/leases.js';
import { MAX_BATCH_CHECKS } from '../../protocol/limits.js';
import { ROUTES, counterPath, leasePath, leaseRenewalPath } from '../../protocol/routes.js';
import { CheckCoalescer, DEFAULT_COALESCER_LIMITS } from '../check-coalescer.js';
import type { CoalescerLimits } from '../check-coalescer.js';
import type { Store, StoreStats } from '../store.js';
import { chunkChecks } from './batches.js';
import { JsonClient } from './http-client.js';

export interface ServiceStoreOptions extends Partial<Omit<CoalescerLimits, 'maxBatch'>> {
  /** A running `ratelimiter serve`: `http://host:port` (or https). */
  url: string;
  /** Bearer token of the decision routes (`RATELIMITER_API_TOKEN` of the service), when it has one. */
  token?: string;
  /** Bearer token of the admin routes, for `reset` (`RATELIMITER_ADMIN_TOKEN`). */
  adminToken?: string;
  /**
   * Bound on every call while it waits on the service, in ms, connection included (this
   * process's own event-loop lag is not charged). Default 100 (the service's own store timeout
   * is 50).
   */
  timeoutMs?: number;
  /** Most keep-alive connections to the service. Default 32. */
  maxSockets?: number;
  /**
   * Coalesce the checks made together into `POST /v1/checks` calls. Default true: with 200 checks
   * in flight it measured 11 to 15 x the checks/s of one request per check (BENCHMARKS.md,
   * `npm run bench:service-client`). false sends each check alone, still bounded by the queue.
   */
  batch?: boolean;
}

/**
 * Calls out at once by default: one service process decides them in turn, so more in flight only
 * makes the last of them wait (against its timeout) instead of waiting in the measured queue.
 */
const MAX_IN_FLIGHT = 8;
/** Under light load, at most this many calls that are not full go out at once (see CheckCoalescer). */
const MAX_PARTIAL_IN_FLIGHT = 4;

/**
 * A Store that is a running ratelimiter service: the same RateLimiter API as over Redis, the
 * counters in the service's store, every call bounded. Checks go through the same bounded
 * coalescer as RedisStore's: a burst waits here, in a measured queue, and past its bounds is
 * refused as OverloadedError, which no failure mode admits. A call the service cannot answer
 * (down, slow, its own store unreachable: a 503 or a degraded decision) fails with
 * StoreUnavailableError, so this process's failure policy decides, as it would for Redis.
 */
export class ServiceStore implements Store {
  readonly kind = 'service';
  private readonly client: JsonClient;
  private readonly coalescer: CheckCoalescer;
  private readonly apiHeaders: Record<string, string>;
  private readonly adminHeaders: Record<string, string>;
  private closed = false;

  constructor(options: ServiceStoreOptions) {
    const timeoutMs = options.timeoutMs ?? 100;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new RangeError('timeoutMs must be an integer >= 1');
    const maxSockets = options.maxSockets ?? 32;
    if (!Number.isInteger(maxSockets) || maxSockets < 1)
      throw new RangeError('maxSockets must be an integer >= 1');
    this.client = new JsonClient({ baseUrl: options.url, timeoutMs, maxSockets });
    this.apiHeaders = bearer(options.token);
    this.adminHeaders = bearer(options.adminToken ?? options.token);
    const maxInFlight = options.maxInFlight ?? Math.min(maxSockets, MAX_IN_FLIGHT);
    this.coalescer = new CheckCoalescer(
      {
        maxBatch: options.batch === false ? 1 : MAX_BATCH_CHECKS,
        maxInFlight,
        maxPartialInFlight:
          options.maxPartialInFlight ??
          (options.batch === false ? maxInFlight : Math.min(maxInFlight, MAX_PARTIAL_IN_FLIGHT)),
        maxQueued: options.maxQueued ?? DEFAULT_COALESCER_LIMITS.maxQueued,
        queueTimeoutMs: options.queueTimeoutMs ?? DEFAULT_COALESCER_LIMITS.queueTimeoutMs,
      },
      {
        remote: `the service at ${this.client.origin}`,
        // `/v1/checks` decides each check on its own, whatever its algorithm: one group.
        groupOf: () => '',
        send: (checks) => this.send(checks),
        storeIsSlow: () => this.client.timedOutRecently(1000),
      },
    );
  }

  check(check: Check): Promise<Outcome> {
    if (this.closed) return Promise.reject(closedError());
    return this.coalescer.submit(check);
  }

  checkMany(checks: readonly Check[]): Promise<Outcome[]> {
    return Promise.all(checks.map((check) => this.check(check)));
  }

  async checkAll(checks: readonly Check[]): Promise<Outcome[]> {
    this.assertOpen();
    if (checks.length === 0) return [];
    const reply = await this.call('POST', ROUTES.checks, this.apiHeaders, {
      checks: checks.map(checkToWire),
      atomic: true,
    });
    return resultsOf(reply, checks.length);
  }

  async refund(check: Check): Promise<Outcome> {
    this.assertOpen();
    return outcomeOf(await this.call('POST', ROUTES.refund, this.apiHeaders, checkToWire(check)));
  }

  async reset(counter: CounterRef): Promise<void> {
    this.assertOpen();
    const query = new URLSearchParams({ window: `${counter.windowMs}ms`, algorithm: counter.algorithm });
    await this.call('DELETE', `${counterPath(counter.key)}?${query.toString()}`, this.adminHeaders);
  }

  /** `POST /v1/leases`: one call per acquire (not coalesced: each is one holder's). */
  async acquire(lease: LeaseAcquire): Promise<AcquireOutcome> {
    this.assertOpen();
    const reply = await this.call('POST', ROUTES.leases, this.apiHeaders, acquireToWire(lease));
    const decision = fromStore(leaseDecisionFromWire(reply));
    return {
      allowed: decision.allowed,
      ...(decision.leaseId === undefined ? {} : { leaseId: decision.leaseId }),
      inFlight: decision.inFlight,
      retryAfterUs: decision.retryAfterMs * 1000,
      expiresInUs: decision.expiresInMs * 1000,
    };
  }

  async release(ref: LeaseRef): Promise<ReleaseOutcome> {
    this.assertOpen();
    const query = new URLSearchParams({ key: ref.key });
    const reply = await this.call('DELETE', `${leasePath(ref.leaseId)}?${query.toString()}`, this.apiHeaders);
    return fromStore(releaseFromWire(reply));
  }

  async renew(renewal: LeaseRenewal): Promise<RenewOutcome> {
    this.assertOpen();
    const reply = await this.call('POST', leaseRenewalPath(renewal.leaseId), this.apiHeaders, {
      key: renewal.key,
      ttl: `${renewal.ttlMs}ms`,
    });
    const { expiresInMs, ...renewed } = fromStore(renewFromWire(reply));
    return { ...renewed, expiresInUs: expiresInMs * 1000 };
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.call('GET', ROUTES.readyz, {});
  }

  close(): Promise<void> {
    this.closed = true;
    this.client.close();
    return Promise.resolve();
  }

  stats(): StoreStats {
    return { ...this.coalescer.stats(), ...this.client.stats() };
  }

  /** One coalesced call; a batch too large for one body (long keys, huge costs) is split. */
  private async send(checks: readonly Check[]): Promise<Outcome[]> {
    const chunks = chunkChecks(checks);
    const answers = await Promise.all(
      chunks.map(async (chunk) => {
        const reply = await this.call('POST', ROUTES.checks, this.apiHeaders, {
          checks: chunk.map(checkToWire),
        });
        return resultsOf(reply, chunk.length);
      }),
    );
    return answers.length === 1 ? (answers[0] as Outcome[]) : answers.flat();
  }

  private async call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<unknown> {
    const reply = await this.client.request(method, path, headers, body);
    if (reply.status >= 200 && reply.status < 300) return reply.body;
    throw errorFromReply(reply, this.client.origin);
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function closedError(): StoreUnavailableError {
  return new StoreUnavailableError('the service store is closed', { reason: 'closed' });
}

function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/**
 * A reply the service made, as this store's answer. A degraded decision was made without the
 * service's store: to this process that store is unavailable, and its own failure policy decides
 * (as it would if it could not reach Redis).
 */
function fromStore<T extends object>(answer: T | undefined): T {
  if (!answer) throw new StoreUnavailableError('the service sent an unexpected reply');
  if ((answer as { degraded?: unknown }).degraded === true) {
    throw new StoreUnavailableError('the service decided without its store (degraded)', {
      reason: 'degraded',
    });
  }
  return answer;
}

function outcomeOf(value: unknown): Outcome {
  const decision = fromStore(decisionFromWire(value));
  return {
    allowed: decision.allowed,
    count: decision.count,
    retryAfterUs: decision.retryAfterMs * 1000,
    resetAfterUs: decision.resetAfterMs * 1000,
  };
}

function resultsOf(value: unknown, expected: number): Outcome[] {
  const results = (value as { results?: unknown } | undefined)?.results;
  if (!Array.isArray(results) || results.length !== expected) {
    throw new StoreUnavailableError('the service sent an unexpected reply');
  }
  return results.map(outcomeOf);
}
