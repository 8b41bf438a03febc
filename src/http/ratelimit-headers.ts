import type { FastifyReply } from 'fastify';
import type { Decision } from '../core/types.js';
import { rateLimitHeaders } from '../service/headers.js';

export { DEGRADED_HEADER } from '../service/headers.js';

/**
 * The rate-limit headers of service/headers.ts on a reply. A single check's policy is named
 * "default", a batch's by position ("check-3"): a name must not echo the key, which may be personal data.
 */
export function setRateLimitHeaders(reply: FastifyReply, decisions: readonly Decision[]): void {
  const name = (index: number) => (decisions.length === 1 ? 'default' : `check-${index}`);
  const policies = decisions.map((decision, index) => ({
    name: name(index),
    windowMs: decision.windowMs,
    decision,
  }));
  for (const { key, value } of rateLimitHeaders(policies)) reply.header(key, value);
}
