import type { Decision } from '../core/types.js';

/**
 * The rate-limit headers every transport sends (the HTTP API, Envoy's response_headers_to_add,
 * forward-auth, every framework adapter), built in one pure place so that they all agree.
 */

/** One response header: name and value. */
export type HeaderPair = readonly [name: string, value: string];

/** A header as Envoy's messages carry it. */
export interface HeaderValue {
  key: string;
  value: string;
}

/** What one decision applied, for the rate-limit headers of any transport. */
export interface AppliedPolicy {
  /** The policy's name in the headers; never a key (it may be personal data). */
  name: string;
  windowMs: number;
  decision: Pick<Decision, 'allowed' | 'limit' | 'remaining' | 'retryAfterMs' | 'resetAfterMs' | 'degraded'>;
}

/** Product-specific, so that it is never mistaken for a field of the IETF draft. */
export const DEGRADED_HEADER = 'RateLimiter-Degraded';

/** Whole seconds, rounded up: a client waiting this long never comes back too early. */
export function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Decisions as policies: a single check's is named "default", a batch's by position ("check-3"), unless `names` are given. */
export function policiesOf(decisions: readonly Decision[], names?: readonly string[]): AppliedPolicy[] {
  return decisions.map((decision, index) => ({
    name: names?.[index] ?? (decisions.length === 1 ? 'default' : `check-${index}`),
    windowMs: decision.windowMs,
    decision,
  }));
}

/**
 * `RateLimit-Policy` and `RateLimit` in the structured-field syntax of the IETF httpapi
 * ratelimit-headers draft (`"name";q=100;w=60` and `"name";r=42;t=17`), one list member per
 * policy, then the status headers.
 */
export function rateLimitHeaders(policies: readonly AppliedPolicy[]): HeaderPair[] {
  if (policies.length === 0) return [];
  const policy = policies.map(
    ({ name, windowMs, decision }) => `"${name}";q=${decision.limit};w=${Math.max(1, ceilSeconds(windowMs))}`,
  );
  const state = policies.map(
    ({ name, decision }) => `"${name}";r=${decision.remaining};t=${ceilSeconds(decision.resetAfterMs)}`,
  );
  return [
    ['RateLimit-Policy', policy.join(', ')],
    ['RateLimit', state.join(', ')],
    ...statusHeaders(policies.map(({ decision }) => decision)),
  ];
}

/**
 * What every header style shares: `RateLimiter-Degraded: true` when a failure mode decided
 * without the store (open or local), and `Retry-After` (seconds, at least 1) when any was denied.
 */
export function statusHeaders(
  decisions: readonly Pick<Decision, 'allowed' | 'retryAfterMs' | 'degraded'>[],
): HeaderPair[] {
  const headers: HeaderPair[] = [];
  if (decisions.some((decision) => decision.degraded === true)) headers.push([DEGRADED_HEADER, 'true']);
  const denied = decisions.filter((decision) => !decision.allowed);
  if (denied.length > 0) {
    const waitMs = Math.max(...denied.map((decision) => decision.retryAfterMs));
    headers.push(['Retry-After', String(Math.max(1, ceilSeconds(waitMs)))]);
  }
  return headers;
}

export function asHeaderValues(pairs: readonly HeaderPair[]): HeaderValue[] {
  return pairs.map(([key, value]) => ({ key, value }));
}
