import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RouteOptions,
  onRequestAsyncHookHandler,
} from 'fastify';
import { RateLimitCore } from '../shared/middleware.js';
import type { MiddlewareOptions } from '../shared/middleware.js';
import type { Admission } from '../shared/limits.js';
import { onResponseEnd } from '../shared/response-end.js';

export { FastifyRateLimitStore } from './store.js';
export type { FastifyRateLimitStoreOptions, FastifyRateLimitRecord } from './store.js';
export type { AdapterLimiter, RefundRequest } from '../shared/limiter.js';
export type { LimitRule, Admission } from '../shared/limits.js';
export type { HeaderMode } from '../shared/headers.js';
export type { ConcurrencyOptions, LeaseAdmission } from '../shared/concurrency.js';

export interface FastifyRateLimitOptions extends MiddlewareOptions<FastifyRequest> {
  /** Limit every route (default true); with false, only routes with `config.rateLimiter` are limited. */
  global?: boolean;
  /** Answers a limited request instead of the default (status, headers already set, JSON body). */
  onLimited?: (request: FastifyRequest, reply: FastifyReply, admission: Admission) => unknown;
  /**
   * Answers a request the limiter could not decide. Default: 503 with the error body. Throw
   * (or return the error) to hand it to Fastify's error handler instead.
   */
  onError?: (error: Error, request: FastifyRequest, reply: FastifyReply) => unknown;
}

/** Per route: `config: { rateLimiter: { limit: 5, window: '1m' } }`, or `false` to exempt it. */
export type RouteRateLimitOptions = Partial<Omit<FastifyRateLimitOptions, 'global'>> | false;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** ratelimiter-service's per-route options (named apart from @fastify/rate-limit's `rateLimit`, so both can run during a migration). */
    rateLimiter?: RouteRateLimitOptions;
  }
  interface FastifyRequest {
    /** What the rate limiter decided for this request, when it ran. */
    rateLimit?: Admission;
  }
}

/** The hook of one route: check on request; refunds and the lease's release when the response ends. */
function routeHook(options: FastifyRateLimitOptions): onRequestAsyncHookHandler {
  // request.ip follows Fastify's `trustProxy` option: without it X-Forwarded-For is ignored.
  const core = new RateLimitCore<FastifyRequest>(options, (request) => request.ip);
  return async (request, reply) => {
    const verdict = await core.evaluate(request);
    if (verdict.kind === 'skip') return;
    for (const [name, value] of verdict.headers) void reply.header(name, value);
    if (verdict.kind === 'failed') {
      if (options.onError) return options.onError(verdict.error, request, reply);
      return reply.code(verdict.statusCode).send(verdict.body);
    }
    request.rateLimit = verdict.admission;
    if (verdict.kind === 'limited') {
      if (options.onLimited) return options.onLimited(request, reply, verdict.admission);
      if (verdict.contentType !== undefined) void reply.type(verdict.contentType);
      return reply.code(verdict.statusCode).send(verdict.body);
    }
    // The raw response's end, not onResponse: that waits for a reply, and a client that goes away
    // mid-handler must free its lease at once.
    if (core.mustEnd(verdict)) {
      onResponseEnd(reply.raw, (statusCode) => {
        core.end(verdict, statusCode);
      });
    }
    return undefined;
  };
}

/**
 * A route's options over the plugin's: a route that names its own limits replaces the plugin's
 * (`limits`, or `limit` / `window` each falling back to the plugin's), everything else merges. Its
 * counters are its own (the route in the key prefix, as @fastify/rate-limit does), unless it names
 * a `prefix`: a login route at 5 per minute must not see the requests the global limit counted.
 */
function routeOptions(
  options: FastifyRateLimitOptions,
  own: Exclude<RouteRateLimitOptions, false>,
  route: Pick<RouteOptions, 'method' | 'url'>,
): FastifyRateLimitOptions {
  const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
  const prefix = own.prefix ?? `${options.prefix ?? ''}${methods}${route.url}:`;
  const merged = { ...options, ...own, prefix };
  if (own.limits !== undefined) return { ...merged, limit: undefined, window: undefined };
  if (own.limit !== undefined || own.window !== undefined) {
    return {
      ...merged,
      limits: undefined,
      limit: own.limit ?? options.limit,
      window: own.window ?? options.window,
    };
  }
  return merged;
}

function appendHook(route: RouteOptions, name: 'onRequest', hook: unknown): void {
  const existing = route[name] as unknown;
  const list: unknown[] = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  (route as unknown as Record<string, unknown[]>)[name] = [...list, hook];
}

/**
 * Fastify plugin: `await app.register(rateLimit, { limiter, limit: 100, window: '1m' })`, global by
 * default, per route with `config: { rateLimiter: {...} | false }`. It is not encapsulated (like
 * @fastify/rate-limit), so it applies to every route registered after it.
 */
const rateLimit: FastifyPluginAsync<FastifyRateLimitOptions> = (fastify, options) => {
  const global = options.global ?? true;
  // Built now, so that bad options fail at register() rather than on the first request.
  const globalHook = global ? routeHook(options) : undefined;
  fastify.addHook('onRoute', (route) => {
    const own = route.config?.rateLimiter;
    if (own === false) return;
    const hook = own === undefined ? globalHook : routeHook(routeOptions(options, own, route));
    if (hook) appendHook(route, 'onRequest', hook);
  });
  return Promise.resolve();
};

// What fastify-plugin sets: the plugin's hooks apply outside its own encapsulation context.
Object.assign(rateLimit, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'ratelimiter-service',
});

export default rateLimit;
export { rateLimit };
