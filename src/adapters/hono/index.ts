import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RateLimitCore } from '../shared/middleware.js';
import type { MiddlewareOptions } from '../shared/middleware.js';
import type { Admission } from '../shared/limits.js';
import { onResponseEnd } from '../shared/response-end.js';

export { HonoRateLimiterStore } from './store.js';
export type { HonoRateLimiterStoreOptions } from './store.js';
export type { AdapterLimiter, RefundRequest } from '../shared/limiter.js';
export type { LimitRule, Admission } from '../shared/limits.js';
export type { HeaderMode } from '../shared/headers.js';
export type { ConcurrencyOptions, LeaseAdmission } from '../shared/concurrency.js';

export interface HonoRateLimitOptions extends MiddlewareOptions<Context> {
  /** Answers a limited request instead of the default (status, headers already set, JSON body). */
  onLimited?: (c: Context, admission: Admission) => Response | Promise<Response>;
  /** Answers a request the limiter could not decide. Default: 503 with the error body; throw to hand it to `app.onError`. */
  onError?: (error: Error, c: Context) => Response | Promise<Response>;
}

/** The Node request and response under Hono, as @hono/node-server passes them (`c.env`). */
function nodeEnv(c: Context): { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined {
  return c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
}

/**
 * The peer address as @hono/node-server exposes it (`c.env.incoming`). Hono has no trust-proxy
 * setting, so forwarded headers are never read: behind a proxy, pass `key` (e.g. with
 * `getConnInfo` or the header your own proxy sets, overwriting the client's).
 */
function nodePeerAddress(c: Context): string | undefined {
  return nodeEnv(c)?.incoming?.socket.remoteAddress;
}

function respond(c: Context, statusCode: number, body: unknown, contentType?: string): Response {
  const status = statusCode as ContentfulStatusCode;
  if (contentType !== undefined) return c.body(JSON.stringify(body), status, { 'Content-Type': contentType });
  return typeof body === 'string' ? c.text(body, status) : c.json(body, status);
}

/**
 * Hono middleware: `app.use(rateLimit({ limiter, limit: 100, window: '1m' }))`, and/or
 * `concurrency: { limit: 10, ttl: '30s' }`.
 */
export function rateLimit(options: HonoRateLimitOptions): MiddlewareHandler {
  const core = new RateLimitCore<Context>(options, nodePeerAddress);
  return async (c, next) => {
    const verdict = await core.evaluate(c);
    if (verdict.kind === 'skip') {
      await next();
      return;
    }
    for (const [name, value] of verdict.headers) c.header(name, value);
    if (verdict.kind === 'failed') {
      return options.onError
        ? options.onError(verdict.error, c)
        : respond(c, verdict.statusCode, verdict.body);
    }
    c.set('rateLimit' as never, verdict.admission as never);
    if (verdict.kind === 'limited') {
      return options.onLimited
        ? options.onLimited(c, verdict.admission)
        : respond(c, verdict.statusCode, verdict.body, verdict.contentType);
    }
    // On Node the lease lasts until the response is sent or the client goes away, a streamed
    // body included; elsewhere, until the handler returns.
    const outgoing = verdict.lease && nodeEnv(c)?.outgoing;
    if (outgoing) onResponseEnd(outgoing, () => verdict.lease?.release());
    try {
      await next();
    } catch (error) {
      core.end(verdict, undefined);
      throw error;
    }
    // Hono turns a handler's throw into c.error and a 500 response without rethrowing.
    const statusCode = c.error === undefined ? c.res.status : undefined;
    if (outgoing) core.settle(verdict.admission, statusCode);
    else core.end(verdict, statusCode);
    return undefined;
  };
}
