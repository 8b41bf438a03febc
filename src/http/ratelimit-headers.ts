import type { FastifyReply } from 'fastify';
import type { Decision } from '../core/types.js';
import { policiesOf, writeRateLimitHeaders } from '../protocol/headers.js';

export { DEGRADED_HEADER } from '../protocol/headers.js';

/** The rate-limit headers of protocol/headers.ts on a reply, for a check or a batch. */
export function setRateLimitHeaders(reply: FastifyReply, decisions: readonly Decision[]): void {
  writeRateLimitHeaders(reply, policiesOf(decisions));
}
