import type { Decision } from '../core/types.js';

/** What one decision applied, for the rate-limit headers of any transport. */
export interface AppliedPolicy {
  /** The policy's name in the headers; never a key (it may be personal data). */
  name: string;
  windowMs: number;
  decision: Pick<Decision, 'allowed' | 'limit' | 'remaining' | 'retryAfterMs' | 'resetAfterMs' | 'degraded'>;
}

export interface HeaderValue {
  key: string;
  value: string;
}

/** Product-specific, so that it is never mistaken for a field of the IETF draft. */
export const DEGRADED_HEADER = 'RateLimiter-Degraded';

/** Whole seconds, rounded up: a client waiting this long never comes back too early. */
export function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/**
 * `RateLimit-Policy` and `RateLimit` in the structured-field syntax of the IETF httpapi
 * ratelimit-headers draft (`"name";q=100;w=60` and `"name";r=42;t=17`), one list member per
 * policy, `RateLimiter-Degraded: true` when any was decided without the store, and `Retry-After`
 * (seconds) when any was denied.
 */
export function rateLimitHeaders(policies: readonly AppliedPolicy[]): HeaderValue[] {
  if (policies.length === 0) return [];
  const policy = policies.map(
    ({ name, windowMs, decision }) => `"${name}";q=${decision.limit};w=${Math.max(1, ceilSeconds(windowMs))}`,
  );
  const state = policies.map(
    ({ name, decision }) => `"${name}";r=${decision.remaining};t=${ceilSeconds(decision.resetAfterMs)}`,
  );
  const headers = [
    { key: 'RateLimit-Policy', value: policy.join(', ') },
    { key: 'RateLimit', value: state.join(', ') },
  ];
  if (policies.some(({ decision }) => decision.degraded === true)) {
    headers.push({ key: DEGRADED_HEADER, value: 'true' });
  }
  const denied = policies.filter(({ decision }) => !decision.allowed);
  if (denied.length > 0) {
    const waitMs = Math.max(...denied.map(({ decision }) => decision.retryAfterMs));
    headers.push({ key: 'Retry-After', value: String(Math.max(1, ceilSeconds(waitMs))) });
  }
  return headers;
}
