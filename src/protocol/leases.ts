import type { LeaseAcquire, LeaseDecision, ReleaseResult, RenewResult } from '../core/leases.js';
import type { AppliedPolicy } from './headers.js';

/*
 * Leases (concurrency limits) on the wire: what `POST /v1/leases`, `POST /v1/leases/{id}/renew`
 * and `DELETE /v1/leases/{id}?key=` answer, read back by ServiceStore and printed by the CLI.
 */

/** The policy name of a lease decision in `RateLimit-Policy` / `RateLimit`. */
export const LEASE_POLICY_NAME = 'concurrency';

/** The IETF draft's quota unit for a limit on requests in flight. */
export const CONCURRENT_REQUESTS = 'concurrent-requests';

/** The fields of a LeaseDecision that travel (the validated ttl is the caller's own). */
export type WireLeaseDecision = Omit<LeaseDecision, 'ttlMs'>;

export function toWireLeaseDecision(decision: WireLeaseDecision): WireLeaseDecision {
  const { allowed, leaseId, limit, inFlight, remaining, retryAfterMs, expiresInMs, degraded } = decision;
  return {
    allowed,
    ...(leaseId === undefined ? {} : { leaseId }),
    limit,
    inFlight,
    remaining,
    retryAfterMs,
    expiresInMs,
    ...(degraded === true ? { degraded } : {}),
  };
}

/** `DELETE /v1/leases/{id}`: whether the lease was freed, and what the key holds after. */
export type WireReleaseResult = ReleaseResult;

/** `POST /v1/leases/{id}/renew`: whether it was extended, its new time to live, what the key holds. */
export type WireRenewResult = RenewResult;

export function toWireRelease({ released, inFlight, limit }: ReleaseResult): WireReleaseResult {
  return { released, inFlight, limit };
}

export function toWireRenew({ renewed, expiresInMs, inFlight, limit }: RenewResult): WireRenewResult {
  return { renewed, expiresInMs, inFlight, limit };
}

/** The headers' view of a lease decision: a quota of requests in flight, with no window. */
export function leasePolicy(decision: WireLeaseDecision, name = LEASE_POLICY_NAME): AppliedPolicy {
  return {
    name,
    windowMs: undefined,
    quotaUnit: CONCURRENT_REQUESTS,
    // Leases have no reset time of their own: `t` is then the wait when denied, else 0.
    decision: { ...decision, resetAfterMs: 0 },
  };
}

type Fields = Record<string, unknown>;

function objectOf(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null ? (value as Fields) : undefined;
}

function counts(fields: Fields, names: readonly string[]): boolean {
  return names.every((name) => {
    const number = fields[name];
    return typeof number === 'number' && Number.isInteger(number) && number >= 0;
  });
}

const DECISION_COUNTS = ['limit', 'inFlight', 'remaining', 'retryAfterMs', 'expiresInMs'] as const;
const TALLY_COUNTS = ['inFlight', 'limit'] as const;

/** A lease decision as the service sent it, or undefined when the reply is not one. */
export function leaseDecisionFromWire(value: unknown): WireLeaseDecision | undefined {
  const fields = objectOf(value);
  if (!fields || typeof fields.allowed !== 'boolean' || !counts(fields, DECISION_COUNTS)) return undefined;
  if (fields.leaseId !== undefined && typeof fields.leaseId !== 'string') return undefined;
  return toWireLeaseDecision(value as WireLeaseDecision);
}

export function releaseFromWire(value: unknown): WireReleaseResult | undefined {
  const fields = objectOf(value);
  if (!fields || typeof fields.released !== 'boolean' || !counts(fields, TALLY_COUNTS)) return undefined;
  return toWireRelease(value as WireReleaseResult);
}

export function renewFromWire(value: unknown): WireRenewResult | undefined {
  const fields = objectOf(value);
  if (!fields || typeof fields.renewed !== 'boolean') return undefined;
  if (!counts(fields, [...TALLY_COUNTS, 'expiresInMs'])) return undefined;
  return toWireRenew(value as WireRenewResult);
}

/** A validated acquire as the service's JSON takes it: the ttl in whole milliseconds. */
export interface WireAcquire {
  key: string;
  limit: number;
  ttl: string;
  cost: number;
}

export function acquireToWire(lease: LeaseAcquire): WireAcquire {
  return { key: lease.key, limit: lease.limit, ttl: `${lease.ttlMs}ms`, cost: lease.cost };
}
