import type { Decision } from '../core/types.js';

/**
 * The rate-limit headers every transport sends (the HTTP API, Envoy's response_headers_to_add,
 * forward-auth, every framework adapter), built in one pure place so that they all agree.
 */

/** One response header: name and value. */
export type HeaderPair = readonly [name: string, value: string];

/** A header as Envoy's messages carry it. */
export interface HeaderValue {
  key: string;
  value: string;
}

/** What one decision applied, for the rate-limit headers of any transport. */
export interface AppliedPolicy {
  /** The policy's name in the headers; never a key (it may be personal data). */
  name: string;
  /** The policy's window; absent for a quota that is not per time (concurrent requests). */
  windowMs: number | undefined;
  /** The draft's quota unit (`qu`), when not the default "requests": "concurrent-requests". */
  quotaUnit?: string;
  decision: Pick<Decision, 'allowed' | 'limit' | 'remaining' | 'retryAfterMs' | 'resetAfterMs' | 'degraded'>;
}

/**
 * Which revision of the IETF httpapi ratelimit-headers draft `RateLimit` follows:
 * - `draft-11` (default): `r` is the available quota and `t` the effective window, the seconds
 *   within which the client may use no more than `r` (see effectiveWindowSeconds);
 * - `draft-10`: `r` the remaining quota and `t` the seconds until the counter is empty again.
 */
export type HeaderStyle = 'draft-11' | 'draft-10';

export const HEADER_STYLES: readonly HeaderStyle[] = ['draft-11', 'draft-10'];

/** Product-specific, so that it is never mistaken for a field of the IETF draft. */
export const DEGRADED_HEADER = 'RateLimiter-Degraded';

/** Whole seconds, rounded up: a client waiting this long never comes back too early. */
export function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Decisions as policies: a single check's is named "default", a batch's by position ("check-3"), unless `names` are given. */
export function policiesOf(decisions: readonly Decision[], names?: readonly string[]): AppliedPolicy[] {
  return decisions.map((decision, index) => ({
    name: names?.[index] ?? (decisions.length === 1 ? 'default' : `check-${index}`),
    windowMs: decision.windowMs,
    decision,
  }));
}

/**
 * draft-11's `t`: the seconds within which the client may spend no more than `r`. With nothing
 * available, until the same cost would pass again; otherwise until the counter is empty (the
 * whole window for an empty counter). Over a sliding window or a bucket units come back before
 * that, so the figure is on the safe side: a client that keeps to it is never limited.
 */
export function effectiveWindowSeconds({ decision, windowMs }: AppliedPolicy): number {
  if (!decision.allowed && decision.retryAfterMs > 0) return Math.max(1, ceilSeconds(decision.retryAfterMs));
  if (decision.resetAfterMs > 0) return Math.max(1, ceilSeconds(decision.resetAfterMs));
  return windowMs === undefined ? 0 : Math.max(1, ceilSeconds(windowMs));
}

/** The last policy item made: most traffic repeats a few policies, and this one is the same text. */
let lastPolicy: {
  name: string;
  limit: number;
  windowMs: number | undefined;
  quotaUnit?: string;
  item: string;
} = {
  name: '',
  limit: -1,
  windowMs: undefined,
  item: '',
};

function policyItem({ name, windowMs, quotaUnit, decision }: AppliedPolicy): string {
  const last = lastPolicy;
  if (
    last.limit === decision.limit &&
    last.windowMs === windowMs &&
    last.name === name &&
    last.quotaUnit === quotaUnit
  ) {
    return last.item;
  }
  const window = windowMs === undefined ? '' : `;w=${Math.max(1, ceilSeconds(windowMs))}`;
  const unit = quotaUnit === undefined ? '' : `;qu="${quotaUnit}"`;
  const item = `"${name}";q=${decision.limit}${unit}${window}`;
  lastPolicy = {
    name,
    limit: decision.limit,
    windowMs,
    ...(quotaUnit === undefined ? {} : { quotaUnit }),
    item,
  };
  return item;
}

function limitItem(policy: AppliedPolicy, style: HeaderStyle): string {
  const seconds =
    style === 'draft-11' ? effectiveWindowSeconds(policy) : ceilSeconds(policy.decision.resetAfterMs);
  return `"${policy.name}";r=${policy.decision.remaining};t=${seconds}`;
}

/** Where headers go one by one: a Fastify reply, a list being built. */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * `RateLimit-Policy` and `RateLimit` in the structured-field syntax of the IETF httpapi
 * ratelimit-headers draft (`"name";q=100;w=60` and `"name";r=42;t=17`), one list member per
 * policy, then the status headers, handed to `sink` as they are made: no list of pairs on the way.
 */
export function writeRateLimitHeaders(
  sink: HeaderSink,
  policies: readonly AppliedPolicy[],
  style: HeaderStyle = 'draft-11',
): void {
  const [only] = policies;
  if (only === undefined) return;
  if (policies.length === 1) {
    // The common case (one check): each header is one item, made once.
    sink.header('RateLimit-Policy', policyItem(only));
    sink.header('RateLimit', limitItem(only, style));
    const { decision } = only;
    if (decision.degraded === true) sink.header(DEGRADED_HEADER, 'true');
    if (!decision.allowed) sink.header('Retry-After', retryAfterSeconds(decision.retryAfterMs));
    return;
  }
  let policy = '';
  let state = '';
  for (let i = 0; i < policies.length; i++) {
    const each = policies[i] as AppliedPolicy;
    const separator = i === 0 ? '' : ', ';
    policy += separator + policyItem(each);
    state += separator + limitItem(each, style);
  }
  sink.header('RateLimit-Policy', policy);
  sink.header('RateLimit', state);
  for (const [name, value] of statusHeaders(policies.map(({ decision }) => decision)))
    sink.header(name, value);
}

/** writeRateLimitHeaders as a list of pairs. */
export function rateLimitHeaders(
  policies: readonly AppliedPolicy[],
  style: HeaderStyle = 'draft-11',
): HeaderPair[] {
  const pairs: HeaderPair[] = [];
  writeRateLimitHeaders({ header: (name, value) => pairs.push([name, value]) }, policies, style);
  return pairs;
}

function retryAfterSeconds(waitMs: number): string {
  return String(Math.max(1, ceilSeconds(waitMs)));
}

/** What the legacy headers read of a decision: a lease decision has them too. */
type LegacyFields = Pick<Decision, 'limit' | 'remaining' | 'retryAfterMs' | 'resetAfterMs'>;

/** The decision that binds first: the fewest units left, then the longest wait. */
function tightest(decisions: readonly LegacyFields[]): LegacyFields | undefined {
  return [...decisions].sort(
    (a, b) => a.remaining - b.remaining || b.retryAfterMs - a.retryAfterMs || b.resetAfterMs - a.resetAfterMs,
  )[0];
}

/** `X-RateLimit-Limit` / `-Remaining` / `-Reset` (Unix seconds) of the decision that binds first. */
export function legacyHeaders(decisions: readonly LegacyFields[], nowMs: number): HeaderPair[] {
  const decision = tightest(decisions);
  if (!decision) return [];
  return [
    ['X-RateLimit-Limit', String(decision.limit)],
    ['X-RateLimit-Remaining', String(decision.remaining)],
    ['X-RateLimit-Reset', String(ceilSeconds(nowMs + decision.resetAfterMs))],
  ];
}

/**
 * What every header style shares: `RateLimiter-Degraded: true` when a failure mode decided
 * without the store (open or local), and `Retry-After` (seconds, at least 1) when any was denied.
 */
export function statusHeaders(
  decisions: readonly Pick<Decision, 'allowed' | 'retryAfterMs' | 'degraded'>[],
): HeaderPair[] {
  const headers: HeaderPair[] = [];
  let denied = false;
  let waitMs = 0;
  let degraded = false;
  for (const decision of decisions) {
    if (decision.degraded === true) degraded = true;
    if (!decision.allowed) {
      denied = true;
      waitMs = Math.max(waitMs, decision.retryAfterMs);
    }
  }
  if (degraded) headers.push([DEGRADED_HEADER, 'true']);
  if (denied) headers.push(['Retry-After', retryAfterSeconds(waitMs)]);
  return headers;
}

export function asHeaderValues(pairs: readonly HeaderPair[]): HeaderValue[] {
  return pairs.map(([key, value]) => ({ key, value }));
}

/** RFC 9457's problem type of the draft for a request over its quota. */
export const QUOTA_EXCEEDED_TYPE = 'https://iana.org/assignments/http-problem-types#quota-exceeded';

/** An RFC 9457 problem body (`application/problem+json`) naming the policies that refused. */
export interface QuotaExceededProblem {
  type: typeof QUOTA_EXCEEDED_TYPE;
  title: string;
  status: number;
  detail: string;
  'violated-policies': string[];
}

export function quotaExceededProblem(
  policies: readonly AppliedPolicy[],
  status: number,
): QuotaExceededProblem {
  // In an atomic batch every check is refused; those with room left say so by a zero wait.
  const denied = policies.filter(({ decision }) => !decision.allowed);
  const bound = denied.filter(({ decision }) => decision.retryAfterMs > 0);
  const violated = bound.length > 0 ? bound : denied;
  const waitMs = Math.max(0, ...violated.map(({ decision }) => decision.retryAfterMs));
  return {
    type: QUOTA_EXCEEDED_TYPE,
    title: 'Request cannot be satisfied as assigned quota has been exceeded',
    status,
    detail: `too many requests: retry in ${Math.max(1, ceilSeconds(waitMs))} s`,
    'violated-policies': violated.map(({ name }) => name),
  };
}
