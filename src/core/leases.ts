import { randomBytes } from 'node:crypto';
import { parseWindow } from './duration.js';
import { InvalidArgumentError } from './errors.js';
import { fieldAt, fieldsOf, validateKey } from './validate.js';

/*
 * Concurrency limits: at most `limit` units held at once per key, each by a lease that expires
 * on its own after `ttl` unless renewed, so a holder that dies frees its units without anyone's
 * help. What callers send is parsed here once, like checks in validate.ts.
 */

/** Shortest lease: below it, a renewal timer would fire faster than a store round trip is safe. */
export const MIN_TTL_MS = 100;
/** Longest lease: what a crashed holder can keep from others before its units come back. */
export const MAX_TTL_MS = 3_600_000;
/**
 * Most units (so most leases) one key may hold at once. Bounds the work of a call: a store never
 * holds more leases for a key than this, and each is trimmed once, when it expires.
 */
export const MAX_LEASE_LIMIT = 1_000_000;

/** Lease ids are 16 random bytes in base64url: unguessable, and safe in a URL path. */
const LEASE_ID = /^[A-Za-z0-9_-]{22}$/;

/** A lease as the caller asks for it. */
export interface AcquireRequest {
  key: string;
  /** Most units held at once by the key's live leases. */
  limit: number;
  /** How long the lease lives unless renewed: seconds (number) or a duration string, 100ms .. 1h. */
  ttl: number | string;
  /** Units the lease holds. Default 1; 0 looks without holding anything. */
  cost?: number;
}

export interface ReleaseRequest {
  key: string;
  leaseId: string;
}

export interface RenewRequest {
  key: string;
  leaseId: string;
  /** The lease's new time to live from now (100ms .. 1h). */
  ttl: number | string;
}

/** An acquire after validation: what stores receive. */
export interface LeaseAcquire {
  key: string;
  limit: number;
  ttlMs: number;
  cost: number;
}

/** A lease of a key, as release names it. */
export interface LeaseRef {
  key: string;
  leaseId: string;
}

export interface LeaseRenewal extends LeaseRef {
  ttlMs: number;
}

/** What a store decides for an acquire, in microseconds like an Outcome. */
export interface AcquireOutcome {
  allowed: boolean;
  /** The lease taken: present when allowed with a cost above 0. */
  leaseId?: string;
  /** Units held by the key's live leases after the decision. */
  inFlight: number;
  /** 0 when allowed; else the time until the earliest live lease expires. */
  retryAfterUs: number;
  /** The lease's time to live: its ttl when one was taken, else 0. */
  expiresInUs: number;
}

/** After a release or a renewal: what the key holds, and the limit its latest lease was taken under. */
export interface LeaseTally {
  inFlight: number;
  /** The limit of the key's latest admitted acquire, 0 when the key held no lease. */
  limit: number;
}

export interface ReleaseOutcome extends LeaseTally {
  /** The lease was live and is freed; false for an unknown, expired or already released one. */
  released: boolean;
}

export interface RenewOutcome extends LeaseTally {
  /** The lease was live and now expires `expiresInUs` from now; an expired lease is not revived. */
  renewed: boolean;
  expiresInUs: number;
}

/** The answer to an acquire. Being full is data, not an error. */
export interface LeaseDecision {
  allowed: boolean;
  /** Present when a lease is held: give it to release and renew. */
  leaseId?: string;
  limit: number;
  inFlight: number;
  remaining: number;
  retryAfterMs: number;
  expiresInMs: number;
  /** The validated ttl, in ms. */
  ttlMs: number;
  /** Present and true only when the store was unreachable and a failure policy answered instead. */
  degraded?: true;
}

export type ReleaseResult = ReleaseOutcome;

export interface RenewResult extends LeaseTally {
  renewed: boolean;
  expiresInMs: number;
}

export function newLeaseId(): string {
  return randomBytes(16).toString('base64url');
}

export function toLeaseDecision(lease: LeaseAcquire, outcome: AcquireOutcome): LeaseDecision {
  return {
    allowed: outcome.allowed,
    ...(outcome.leaseId === undefined ? {} : { leaseId: outcome.leaseId }),
    limit: lease.limit,
    inFlight: outcome.inFlight,
    remaining: Math.max(0, lease.limit - outcome.inFlight),
    // Rounded up, as for checks: waiting exactly this long must find the earliest lease gone.
    retryAfterMs: outcome.allowed ? 0 : Math.ceil(outcome.retryAfterUs / 1000),
    expiresInMs: Math.floor(outcome.expiresInUs / 1000),
    ttlMs: lease.ttlMs,
  };
}

export function toRenewResult(outcome: RenewOutcome): RenewResult {
  return {
    renewed: outcome.renewed,
    expiresInMs: Math.floor(outcome.expiresInUs / 1000),
    inFlight: outcome.inFlight,
    limit: outcome.limit,
  };
}

/** A ttl written like a window (seconds, or "500ms", "10s", "1m"), held to 100 ms .. 1 h. */
export function parseTtl(value: unknown, field = 'ttl'): number {
  const ms = parseWindow(value, field);
  if (ms < MIN_TTL_MS || ms > MAX_TTL_MS) {
    throw new InvalidArgumentError(field, `${field} must be between 100ms and 1h`);
  }
  return ms;
}

export function validateLeaseLimit(value: unknown, field = 'limit'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(field, `${field} must be an integer >= 0`);
  }
  if (value > MAX_LEASE_LIMIT) {
    throw new InvalidArgumentError(field, `${field} must be <= ${MAX_LEASE_LIMIT} (units held at once)`);
  }
  return value;
}

export function validateLeaseId(value: unknown, field = 'leaseId'): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `${field} must be a string`);
  if (!LEASE_ID.test(value)) {
    throw new InvalidArgumentError(field, `${field} is not a lease id (22 characters of base64url)`);
  }
  return value;
}

export function parseAcquire(request: unknown, path = ''): LeaseAcquire {
  const fields = fieldsOf(request, path, 'lease');
  const key = validateKey(fields.key, fieldAt(path, 'key'));
  const limit = validateLeaseLimit(fields.limit, fieldAt(path, 'limit'));
  const ttlMs = parseTtl(fields.ttl, fieldAt(path, 'ttl'));
  const costField = fieldAt(path, 'cost');
  const cost = fields.cost === undefined ? 1 : validateLeaseLimit(fields.cost, costField);
  if (cost > limit) {
    throw new InvalidArgumentError(
      costField,
      `${costField} (${cost}) must not exceed ${fieldAt(path, 'limit')} (${limit}): it could never be held`,
    );
  }
  return { key, limit, ttlMs, cost };
}

export function parseRelease(request: unknown, path = ''): LeaseRef {
  const fields = fieldsOf(request, path, 'lease');
  return {
    key: validateKey(fields.key, fieldAt(path, 'key')),
    leaseId: validateLeaseId(fields.leaseId, fieldAt(path, 'leaseId')),
  };
}

export function parseRenew(request: unknown, path = ''): LeaseRenewal {
  const fields = fieldsOf(request, path, 'lease');
  return {
    ...parseRelease(fields, path),
    ttlMs: parseTtl(fields.ttl, fieldAt(path, 'ttl')),
  };
}
