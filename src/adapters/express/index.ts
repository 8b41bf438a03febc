import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HeaderPair } from '../../protocol/headers.js';
import { RateLimitCore } from '../shared/middleware.js';
import type { MiddlewareOptions, Verdict } from '../shared/middleware.js';
import type { Admission } from '../shared/limits.js';
import { onResponseEnd } from '../shared/response-end.js';

export { ExpressRateLimitStore } from './store.js';
export type { ExpressRateLimitStoreOptions } from './store.js';
export type { AdapterLimiter, RefundRequest } from '../shared/limiter.js';
export type { LimitRule, Admission } from '../shared/limits.js';
export type { HeaderMode } from '../shared/headers.js';
export type { ConcurrencyOptions, LeaseAdmission } from '../shared/concurrency.js';

export interface ExpressRateLimitOptions extends MiddlewareOptions<Request> {
  /**
   * Answers a limited request instead of the default (status, headers already set, JSON body).
   * The admission says what each limit decided.
   */
  onLimited?: (request: Request, response: Response, next: NextFunction, admission: Admission) => void;
  /**
   * Answers a request the limiter could not decide (store unreachable in the closed failure mode,
   * or overloaded). Default: `unavailableStatusCode` (503) with the error body; pass
   * `(error, req, res, next) => next(error)` to hand it to Express's error handling instead.
   */
  onError?: (error: Error, request: Request, response: Response, next: NextFunction) => void;
}

/** What the middleware decided for this request, for handlers further down. */
declare module 'express-serve-static-core' {
  interface Locals {
    rateLimit?: Admission;
  }
}

function setHeaders(response: Response, headers: readonly HeaderPair[]): void {
  if (response.headersSent) return;
  for (const [name, value] of headers) response.setHeader(name, value);
}

function answer(
  verdict: Exclude<Verdict, { kind: 'skip' }>,
  core: RateLimitCore<Request>,
  options: ExpressRateLimitOptions,
  [request, response, next]: [Request, Response, NextFunction],
): void {
  setHeaders(response, verdict.headers);
  if (verdict.kind === 'failed') {
    if (options.onError) {
      options.onError(verdict.error, request, response, next);
      return;
    }
    response.status(verdict.statusCode).json(verdict.body);
    return;
  }
  response.locals.rateLimit = verdict.admission;
  if (verdict.kind === 'limited') {
    if (options.onLimited) {
      options.onLimited(request, response, next, verdict.admission);
      return;
    }
    response.status(verdict.statusCode);
    if (verdict.contentType !== undefined) response.type(verdict.contentType);
    if (typeof verdict.body === 'string') response.send(verdict.body);
    else response.json(verdict.body);
    return;
  }
  if (core.mustEnd(verdict)) {
    onResponseEnd(response, (statusCode) => {
      core.end(verdict, statusCode);
    });
  }
  next();
}

/**
 * Express middleware (Express 4 and 5): `app.use(rateLimit({ limiter, limit: 100, window: '1m' }))`,
 * and/or `concurrency: { limit: 10, ttl: '30s' }`.
 * The default key is `req.ip`, which follows Express's `trust proxy` setting: with it unset (the
 * default) X-Forwarded-For is ignored; set it to your proxies, never to `true` blindly.
 */
export function rateLimit(options: ExpressRateLimitOptions): RequestHandler {
  const core = new RateLimitCore<Request>(options, (request) => request.ip ?? request.socket.remoteAddress);
  return (request, response, next) => {
    core.evaluate(request).then(
      (verdict) => {
        if (verdict.kind === 'skip') {
          next();
          return;
        }
        answer(verdict, core, options, [request, response, next]);
      },
      (error: unknown) => {
        next(error);
      },
    );
  };
}
