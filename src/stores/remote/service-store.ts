import { InvalidArgumentError, OverloadedError, StoreUnavailableError } from '../../core/errors.js';
import type { Check, CounterRef, Decision, Outcome } from '../../core/types.js';
import type { Store } from '../store.js';
import { CheckBatcher, chunkChecks } from './check-batcher.js';
import { JsonClient } from './http-client.js';
import type { HttpReply } from './http-client.js';

export interface ServiceStoreOptions {
  /** A running `ratelimiter serve`: `http://host:port` (or https). */
  url: string;
  /** Bearer token of the decision routes (`RATELIMITER_API_TOKEN` of the service), when it has one. */
  token?: string;
  /** Bearer token of the admin routes, for `reset` (`RATELIMITER_ADMIN_TOKEN`). */
  adminToken?: string;
  /** Bound on every call, in ms, connection included. Default 100 (the service's own store timeout is 50). */
  timeoutMs?: number;
  /** Most keep-alive connections to the service. Default 32. */
  maxSockets?: number;
  /**
   * Coalesce the checks made in one turn of the event loop into `POST /v1/checks` calls. Default
   * true: with 200 checks in flight it measured 11 to 15 x the checks/s of one request per check
   * (BENCHMARKS.md, `npm run bench:service-client`).
   */
  batch?: boolean;
}

interface ErrorReply {
  error?: { code?: string; message?: string; field?: string };
}

/**
 * A Store that is a running ratelimiter service: the same RateLimiter API as over Redis, the
 * counters in the service's store, every call bounded. A call the service cannot answer (down,
 * slow, its own store unreachable: a 503 or a degraded decision) fails with StoreUnavailableError,
 * so this process's failure policy decides, as it would for Redis. A service that sheds the call
 * (503 overloaded) is an OverloadedError, which no failure mode admits.
 */
export class ServiceStore implements Store {
  readonly kind = 'service';
  private readonly client: JsonClient;
  private readonly batcher: CheckBatcher | undefined;
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
    this.batcher = options.batch !== false ? new CheckBatcher((checks) => this.send(checks)) : undefined;
  }

  async check(check: Check): Promise<Outcome> {
    this.assertOpen();
    if (this.batcher) return this.batcher.check(check);
    return outcomeOf(await this.call('POST', '/v1/check', this.apiHeaders, wire(check)));
  }

  async checkMany(checks: readonly Check[]): Promise<Outcome[]> {
    this.assertOpen();
    const chunks = chunkChecks(checks.map((check) => ({ check })));
    const answers = await Promise.all(chunks.map((chunk) => this.send(chunk.map(({ check }) => check))));
    return answers.flat();
  }

  async checkAll(checks: readonly Check[]): Promise<Outcome[]> {
    this.assertOpen();
    if (checks.length === 0) return [];
    const reply = await this.call('POST', '/v1/checks', this.apiHeaders, {
      checks: checks.map(wire),
      atomic: true,
    });
    return resultsOf(reply, checks.length);
  }

  async refund(check: Check): Promise<Outcome> {
    this.assertOpen();
    return outcomeOf(await this.call('POST', '/v1/refund', this.apiHeaders, wire(check)));
  }

  async reset(counter: CounterRef): Promise<void> {
    this.assertOpen();
    const query = new URLSearchParams({ window: `${counter.windowMs}ms`, algorithm: counter.algorithm });
    await this.call(
      'DELETE',
      `/v1/counters/${encodeURIComponent(counter.key)}?${query.toString()}`,
      this.adminHeaders,
    );
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.call('GET', '/readyz', {});
  }

  close(): Promise<void> {
    this.closed = true;
    this.client.close();
    return Promise.resolve();
  }

  private async send(checks: readonly Check[]): Promise<Outcome[]> {
    const reply = await this.call('POST', '/v1/checks', this.apiHeaders, { checks: checks.map(wire) });
    return resultsOf(reply, checks.length);
  }

  private async call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<unknown> {
    const reply = await this.client.request(method, path, headers, body);
    if (reply.status >= 200 && reply.status < 300) return reply.body;
    throw this.failure(reply);
  }

  /** The service's error shape, as the error the library would have thrown itself. */
  private failure({ status, body, retryAfterS }: HttpReply): Error {
    const error = (body as ErrorReply | undefined)?.error;
    const what = `${error?.code ?? 'error'}: ${error?.message ?? ''}`;
    if (status === 400 && error?.code === 'invalid_argument') {
      return new InvalidArgumentError(error.field ?? 'check', error.message ?? 'invalid argument');
    }
    // The service shed the call: nothing was decided, and no failure mode may turn that into an admit.
    if (status === 503 && error?.code === 'overloaded') {
      return new OverloadedError(
        `the service at ${this.client.origin} is overloaded`,
        (retryAfterS ?? 1) * 1000,
      );
    }
    if (status === 503 || status === 502 || status === 504) {
      return new StoreUnavailableError(
        `the service at ${this.client.origin} cannot decide (${status} ${what})`,
      );
    }
    // A refused token or an unknown route is a misconfiguration: say so loudly, never as an outage.
    return new Error(`the service at ${this.client.origin} answered ${status} ${what}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the service store is closed');
  }
}

function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** A validated check as the service's JSON takes it: the window in whole milliseconds. */
function wire(check: Check) {
  return {
    key: check.key,
    limit: check.limit,
    window: `${check.windowMs}ms`,
    cost: check.cost,
    algorithm: check.algorithm,
  };
}

function isDecision(value: unknown): value is Decision {
  const decision = value as Partial<Decision> | undefined;
  return (
    typeof decision === 'object' &&
    typeof decision.allowed === 'boolean' &&
    typeof decision.count === 'number' &&
    typeof decision.retryAfterMs === 'number' &&
    typeof decision.resetAfterMs === 'number'
  );
}

/**
 * A degraded decision was made without the service's store: to this process that store is
 * unavailable, and its own failure policy decides (as it would if it could not reach Redis).
 */
function outcomeOf(value: unknown): Outcome {
  if (!isDecision(value)) throw new StoreUnavailableError('the service sent an unexpected reply');
  if (value.degraded === true) {
    throw new StoreUnavailableError('the service decided without its store (degraded)');
  }
  return {
    allowed: value.allowed,
    count: value.count,
    retryAfterUs: value.retryAfterMs * 1000,
    resetAfterUs: value.resetAfterMs * 1000,
  };
}

function resultsOf(value: unknown, expected: number): Outcome[] {
  const results = (value as { results?: unknown } | undefined)?.results;
  if (!Array.isArray(results) || results.length !== expected) {
    throw new StoreUnavailableError('the service sent an unexpected reply');
  }
  return results.map(outcomeOf);
}
