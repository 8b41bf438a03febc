import type { FastifyReply } from 'fastify';
import type { Decision } from '../core/types.js';
import { policiesOf, writeRateLimitHeaders } from '../protocol/headers.js';
import { leasePolicy } from '../protocol/leases.js';
import type { WireLeaseDecision } from '../protocol/leases.js';

export { DEGRADED_HEADER } from '../protocol/headers.js';

/** The rate-limit headers of protocol/headers.ts on a reply, for a check or a batch. */
export function setRateLimitHeaders(reply: FastifyReply, decisions: readonly Decision[]): void {
  writeRateLimitHeaders(reply, policiesOf(decisions));
}

/** The same headers for a lease decision: a quota of concurrent requests (`qu`), no window. */
export function setLeaseHeaders(reply: FastifyReply, decision: WireLeaseDecision): void {
  writeRateLimitHeaders(reply, [leasePolicy(decision)]);
}
