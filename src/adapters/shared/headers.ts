import { legacyHeaders, policiesOf, rateLimitHeaders, statusHeaders } from '../../protocol/headers.js';
import { leasePolicy } from '../../protocol/leases.js';
import type { AppliedPolicy, HeaderPair } from '../../protocol/headers.js';
import type { Admission } from './limits.js';

/**
 * Which rate-limit headers a middleware sends: `draft-11` (default) and `draft-10` are
 * `RateLimit-Policy` / `RateLimit` of the IETF httpapi draft (the service sends draft-11; the two
 * differ in what `t` means, see protocol/headers.ts), `legacy` is `X-RateLimit-Limit` /
 * `-Remaining` / `-Reset` (Unix seconds), `both` sends draft-11 and legacy; `false` sends none.
 * Every mode but `false` adds `Retry-After` on a denial and `RateLimiter-Degraded` when a failure
 * mode decided without the store.
 */
export type HeaderMode = 'draft-11' | 'draft-10' | 'legacy' | 'both' | false;

export const HEADER_MODES: readonly HeaderMode[] = ['draft-11', 'draft-10', 'legacy', 'both', false];

/** The admission's limits as the draft's policies, named as the middleware's options name them. */
export function admissionPolicies(admission: Admission): AppliedPolicy[] {
  const policies = policiesOf(
    admission.decisions,
    admission.rules.map((rule) => rule.name),
  );
  const { concurrency } = admission;
  if (concurrency) policies.push(leasePolicy(concurrency.decision, concurrency.name));
  return policies;
}

export function admissionHeaders(mode: HeaderMode, admission: Admission, nowMs = Date.now()): HeaderPair[] {
  if (mode === false) return [];
  const policies = admissionPolicies(admission);
  if (mode === 'draft-11' || mode === 'draft-10') return rateLimitHeaders(policies, mode);
  const decisions = policies.map((policy) => policy.decision);
  const legacy = [...legacyHeaders(decisions, nowMs), ...statusHeaders(decisions)];
  if (mode === 'legacy') return legacy;
  const draft = rateLimitHeaders(policies);
  return [...draft.filter(([name]) => name === 'RateLimit-Policy' || name === 'RateLimit'), ...legacy];
}
