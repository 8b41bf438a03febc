import type { FastifyReply } from 'fastify';
import type { Decision } from '../core/types.js';

/** One response header: name and value. */
export type HeaderPair = readonly [name: string, value: string];

/** Whole seconds, rounded up: a client waiting this long never comes back too early. */
export function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Product-specific, so that it is never mistaken for a field of the IETF draft. */
export const DEGRADED_HEADER = 'RateLimiter-Degraded';

/**
 * `RateLimit-Policy` and `RateLimit` in the structured-field syntax of the IETF httpapi
 * ratelimit-headers draft (`"name";q=100;w=60` and `"name";r=42;t=17`), one list member per
 * decision, plus `Retry-After` (seconds) when any was denied. A single check's policy is named
 * "default", a batch's by position ("check-3"), unless `names` are given: a name must not echo the
 * key, which may be personal data. Pure, so that the service and every framework adapter agree.
 */
export function rateLimitHeaders(decisions: readonly Decision[], names?: readonly string[]): HeaderPair[] {
  if (decisions.length === 0) return [];
  const name = (index: number) => names?.[index] ?? (decisions.length === 1 ? 'default' : `check-${index}`);
  const policy = decisions.map(
    (decision, index) =>
      `"${name(index)}";q=${decision.limit};w=${Math.max(1, ceilSeconds(decision.windowMs))}`,
  );
  const state = decisions.map(
    (decision, index) => `"${name(index)}";r=${decision.remaining};t=${ceilSeconds(decision.resetAfterMs)}`,
  );
  return [
    ['RateLimit-Policy', policy.join(', ')],
    ['RateLimit', state.join(', ')],
    ...statusHeaders(decisions),
  ];
}

/**
 * What every header style shares: `RateLimiter-Degraded: true` when a failure mode decided
 * without the store (open or local), and `Retry-After` (seconds, at least 1) when any was denied.
 */
export function statusHeaders(decisions: readonly Decision[]): HeaderPair[] {
  const headers: HeaderPair[] = [];
  if (decisions.some((decision) => decision.degraded === true)) headers.push([DEGRADED_HEADER, 'true']);
  const denied = decisions.filter((decision) => !decision.allowed);
  if (denied.length > 0) {
    const waitMs = Math.max(...denied.map((decision) => decision.retryAfterMs));
    headers.push(['Retry-After', String(Math.max(1, ceilSeconds(waitMs)))]);
  }
  return headers;
}

export function setRateLimitHeaders(reply: FastifyReply, decisions: readonly Decision[]): void {
  for (const [name, value] of rateLimitHeaders(decisions)) void reply.header(name, value);
}
