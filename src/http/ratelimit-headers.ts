import type { FastifyReply } from 'fastify';
import type { Decision } from '../core/types.js';
import { rateLimitHeaders } from '../service/headers.js';

export { DEGRADED_HEADER } from '../service/headers.js';

/** What a decision applied, for its headers. */
export interface AppliedPolicy {
  windowMs: number;
  decision: Decision;
}

/**
 * The rate-limit headers of service/headers.ts on a reply. A single check's policy is named
 * "default", a batch's by position ("check-3"): a name must not echo the key, which may be personal data.
 */
export function setRateLimitHeaders(reply: FastifyReply, policies: readonly AppliedPolicy[]): void {
  const name = (index: number) => (policies.length === 1 ? 'default' : `check-${index}`);
  const named = policies.map((policy, index) => ({ ...policy, name: name(index) }));
  for (const { key, value } of rateLimitHeaders(named)) reply.header(key, value);
}
