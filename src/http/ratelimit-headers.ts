import type { FastifyReply } from 'fastify';
import type { Decision } from '../core/types.js';
import { policiesOf, rateLimitHeaders } from '../protocol/headers.js';

export { DEGRADED_HEADER } from '../protocol/headers.js';

/** The rate-limit headers of service/headers.ts on a reply, for a check or a batch. */
export function setRateLimitHeaders(reply: FastifyReply, decisions: readonly Decision[]): void {
  for (const [name, value] of rateLimitHeaders(policiesOf(decisions))) void reply.header(name, value);
}
