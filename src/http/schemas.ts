import { Type } from 'typebox';
import type { Static, TSchema } from 'typebox';
import { ALGORITHM_NAMES } from '../core/algorithms/index.js';
import { MAX_BATCH_CHECKS, MAX_KEY_BYTES, MAX_LEASE_LIMIT } from '../protocol/limits.js';

/*
 * The schemas state the shape (types, required and unknown fields); the limiter still validates
 * the meaning (key bytes, per-algorithm limit, durations, cost <= limit), so both transports and
 * the library refuse the same inputs with the same messages.
 */

// A key of 512 bytes has at most 512 characters; the byte bound itself is checked by the limiter.
const Key = Type.String({
  minLength: 1,
  maxLength: MAX_KEY_BYTES,
  description: 'Opaque UTF-8, 1..512 bytes.',
});
const Limit = Type.Integer({ minimum: 0, description: 'Units admitted per window.' });
const Cost = Type.Integer({
  minimum: 0,
  description: 'Units to spend; 0 looks without spending. Default 1.',
});
const Window = Type.Union(
  [
    Type.Number({ exclusiveMinimum: 0, description: 'Seconds.' }),
    Type.String({ maxLength: 32, description: 'A duration: "500ms", "10s", "1m", "1h", "1d".' }),
  ],
  { description: 'Seconds (number) or a duration string, 1 ms .. 366 days.' },
);
const Algorithm = Type.Union(
  ALGORITHM_NAMES.map((name) => Type.Literal(name)),
  { description: `Default ${ALGORITHM_NAMES[0] ?? ''}.` },
);

export const CheckBody = Type.Object(
  { key: Key, limit: Limit, window: Window, cost: Type.Optional(Cost), algorithm: Type.Optional(Algorithm) },
  { additionalProperties: false },
);

/** Units given back to a counter: the check's shape, with `cost` as what is returned. */
export const RefundBody = Type.Object(
  {
    key: Key,
    limit: Limit,
    window: Window,
    cost: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Units to give back, newest first; never more than the window still counts. Default 1.',
      }),
    ),
    algorithm: Type.Optional(Algorithm),
  },
  { additionalProperties: false },
);

/** Its own object so later fields (`atomic`) are one line each. */
export const ChecksBody = Type.Object(
  {
    checks: Type.Array(CheckBody, { minItems: 1, maxItems: MAX_BATCH_CHECKS }),
    atomic: Type.Optional(
      Type.Boolean({
        description:
          'All checks admitted and recorded, or none recorded. The checks must address distinct counters; ' +
          'on Redis Cluster they must share one key.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CounterParams = Type.Object({ key: Key }, { additionalProperties: false });

// Leases: the bounds (100ms .. 1h, limit <= 10^6, cost <= limit, the id's form) are checked by the
// limiter, which names the field; the schemas give the shape.
const Ttl = Type.Union(
  [
    Type.Number({ exclusiveMinimum: 0, description: 'Seconds.' }),
    Type.String({ maxLength: 32, description: 'A duration: "500ms", "10s", "1m", "1h".' }),
  ],
  { description: 'How long the lease lives unless renewed: seconds (number) or a duration, 100ms .. 1h.' },
);

export const AcquireBody = Type.Object(
  {
    key: Key,
    limit: Type.Integer({
      minimum: 0,
      description: `Units held at once by the key's live leases, <= ${MAX_LEASE_LIMIT}.`,
    }),
    ttl: Ttl,
    cost: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Units the lease holds (<= limit); 0 looks without holding. Default 1.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const LeaseParams = Type.Object(
  {
    leaseId: Type.String({
      maxLength: 64,
      description: 'The `leaseId` an acquire answered: 22 characters of base64url.',
    }),
  },
  { additionalProperties: false },
);

export const RenewBody = Type.Object({ key: Key, ttl: Ttl }, { additionalProperties: false });

export const ReleaseQuery = Type.Object({ key: Key }, { additionalProperties: false });

/*
 * Query values stay text and must look like what they stand for: coercing them would read
 * `limit=%20` as 0 and `window=0x10` as 16 seconds. The routes convert them (windowFromQuery).
 */
const QueryLimit = Type.String({ pattern: '^[0-9]{1,16}$', description: 'Units admitted per window.' });
const QueryWindow = Type.String({
  pattern: '^[0-9]{1,16}(\\.[0-9]{1,16})?(ms|s|m|h|d)?$',
  description: 'Seconds, or a duration: "500ms", "10s", "1m", "1h", "1d".',
});

/** A query window as the limiter takes it: bare digits are seconds. */
export function windowFromQuery(text: string): number | string {
  return /^[0-9.]+$/.test(text) ? Number(text) : text;
}

export const PeekQuery = Type.Object(
  { limit: QueryLimit, window: QueryWindow, algorithm: Type.Optional(Algorithm) },
  { additionalProperties: false },
);

export const ResetQuery = Type.Object(
  { window: QueryWindow, algorithm: Type.Optional(Algorithm) },
  { additionalProperties: false },
);

export const Decision = Type.Object(
  {
    allowed: Type.Boolean(),
    limit: Type.Integer(),
    remaining: Type.Integer(),
    count: Type.Integer(),
    retryAfterMs: Type.Integer(),
    resetAfterMs: Type.Integer(),
    degraded: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false },
);

export const LeaseDecision = Type.Object(
  {
    allowed: Type.Boolean({ description: 'The lease is held (or, with cost 0, would fit).' }),
    leaseId: Type.Optional(
      Type.String({ description: 'Present when a lease is held: release or renew it by this id.' }),
    ),
    limit: Type.Integer(),
    inFlight: Type.Integer({ description: "Units held by the key's live leases after the decision." }),
    remaining: Type.Integer(),
    retryAfterMs: Type.Integer({
      description:
        '0 when allowed; else until the earliest live lease expires (a release may free units sooner).',
    }),
    expiresInMs: Type.Integer({
      description: 'The lease expires this long from now unless renewed; 0 when none was taken.',
    }),
    degraded: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false },
);

export const ReleaseReply = Type.Object(
  {
    released: Type.Boolean({
      description: 'false for an unknown, expired or already released lease, or one of another key.',
    }),
    inFlight: Type.Integer(),
    limit: Type.Integer({
      description: "The limit of the key's latest admitted acquire; 0 when it held no lease.",
    }),
  },
  { additionalProperties: false },
);

export const RenewReply = Type.Object(
  {
    renewed: Type.Boolean({
      description: 'false for a lease no longer live: an expired lease is not revived.',
    }),
    expiresInMs: Type.Integer(),
    inFlight: Type.Integer(),
    limit: Type.Integer(),
  },
  { additionalProperties: false },
);

export const ChecksReply = Type.Object(
  { allowed: Type.Boolean({ description: 'Every check was admitted.' }), results: Type.Array(Decision) },
  { additionalProperties: false },
);

export const ErrorReply = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String(),
        message: Type.String(),
        field: Type.Optional(Type.String({ description: 'The request field at fault, when one is.' })),
        reason: Type.Optional(
          Type.String({
            description: 'With store_unavailable: why, when known (timeout, oom, noperm, readonly, ...).',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const NodeEntry = Type.Object(
  {
    id: Type.String(),
    host: Type.String(),
    httpPort: Type.Integer(),
    version: Type.String(),
    store: Type.String(),
    startedAt: Type.String({ format: 'date-time' }),
    lastHeartbeatAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const NodesReply = Type.Object({ nodes: Type.Array(NodeEntry) }, { additionalProperties: false });

export const StatusReply = Type.Object(
  { status: Type.String(), store: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export type CheckBodyType = Static<typeof CheckBody>;

/** The error replies a route can give, for its OpenAPI description and reply serialization. */
export function withErrors<Replies extends Record<number, TSchema>, Status extends number>(
  replies: Replies,
  statuses: readonly Status[],
): Replies & Record<Status, typeof ErrorReply> {
  const errors = {} as Record<Status, typeof ErrorReply>;
  for (const status of statuses) errors[status] = ErrorReply;
  return { ...errors, ...replies };
}
