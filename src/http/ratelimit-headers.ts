import type { FastifyReply } from 'fastify';
import type { Decision } from '../core/types.js';

/** Whole seconds, rounded up: a client waiting this long never comes back too early. */
function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Product-specific, so that it is never mistaken for a field of the IETF draft. */
export const DEGRADED_HEADER = 'RateLimiter-Degraded';

/**
 * `RateLimit-Policy` and `RateLimit` in the structured-field syntax of the IETF httpapi
 * ratelimit-headers draft (`"name";q=100;w=60` and `"name";r=42;t=17`), one list member per
 * decision, plus `Retry-After` (seconds) when any was denied. A single check's policy is named
 * "default", a batch's by position ("check-3"): a name must not echo the key, which may be personal data.
 */
export function setRateLimitHeaders(reply: FastifyReply, decisions: readonly Decision[]): void {
  if (decisions.length === 0) return;
  const name = (index: number) => (decisions.length === 1 ? 'default' : `check-${index}`);
  const policy = decisions.map(
    (decision, index) =>
      `"${name(index)}";q=${decision.limit};w=${Math.max(1, ceilSeconds(decision.windowMs))}`,
  );
  const state = decisions.map(
    (decision, index) => `"${name(index)}";r=${decision.remaining};t=${ceilSeconds(decision.resetAfterMs)}`,
  );
  reply.header('RateLimit-Policy', policy.join(', '));
  reply.header('RateLimit', state.join(', '));
  // Decided without the store (failure mode open or local): say so to the client as well as in the body.
  if (decisions.some((decision) => decision.degraded === true)) reply.header(DEGRADED_HEADER, 'true');
  const denied = decisions.filter((decision) => !decision.allowed);
  if (denied.length > 0) {
    const waitMs = Math.max(...denied.map((decision) => decision.retryAfterMs));
    reply.header('Retry-After', String(Math.max(1, ceilSeconds(waitMs))));
  }
}
