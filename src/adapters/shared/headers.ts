import { ceilSeconds, policiesOf, rateLimitHeaders, statusHeaders } from '../../protocol/headers.js';
import type { HeaderPair } from '../../protocol/headers.js';
import type { Decision } from '../../core/types.js';
import type { Admission } from './limits.js';

/**
 * Which rate-limit headers a middleware sends: `draft-10` is `RateLimit-Policy` / `RateLimit` of
 * the IETF httpapi draft (as the service sends them), `legacy` is `X-RateLimit-Limit` /
 * `-Remaining` / `-Reset` (Unix seconds), `both` sends both; `false` sends none at all.
 * Every mode but `false` adds `Retry-After` on a denial and `RateLimiter-Degraded` when a failure
 * mode decided without the store.
 */
export type HeaderMode = 'draft-10' | 'legacy' | 'both' | false;

export const HEADER_MODES: readonly HeaderMode[] = ['draft-10', 'legacy', 'both', false];

/** The decision that binds first: the fewest units left, then the longest wait. */
function tightest(decisions: readonly Decision[]): Decision | undefined {
  return [...decisions].sort(
    (a, b) => a.remaining - b.remaining || b.retryAfterMs - a.retryAfterMs || b.resetAfterMs - a.resetAfterMs,
  )[0];
}

function legacyHeaders(decisions: readonly Decision[], nowMs: number): HeaderPair[] {
  const decision = tightest(decisions);
  if (!decision) return [];
  return [
    ['X-RateLimit-Limit', String(decision.limit)],
    ['X-RateLimit-Remaining', String(decision.remaining)],
    ['X-RateLimit-Reset', String(ceilSeconds(nowMs + decision.resetAfterMs))],
  ];
}

export function admissionHeaders(mode: HeaderMode, admission: Admission, nowMs = Date.now()): HeaderPair[] {
  if (mode === false) return [];
  const { decisions, rules } = admission;
  const draft = rateLimitHeaders(
    policiesOf(
      decisions,
      rules.map((rule) => rule.name),
    ),
  );
  if (mode === 'draft-10') return draft;
  const legacy = [...legacyHeaders(decisions, nowMs), ...statusHeaders(decisions)];
  if (mode === 'legacy') return legacy;
  return [...draft.filter(([name]) => name === 'RateLimit-Policy' || name === 'RateLimit'), ...legacy];
}
