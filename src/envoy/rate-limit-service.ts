import { createHash } from 'node:crypto';
import { InvalidArgumentError, asError } from '../core/errors.js';
import type { Check, Decision } from '../core/types.js';
import { MAX_KEY_BYTES, validateBatchCost } from '../core/validate.js';
import type { Limiter } from '../limiter.js';
import { matchDescriptor } from '../rules/match.js';
import type { DescriptorEntry, MatchedRule } from '../rules/match.js';
import type { RuleLimit, RuleSet } from '../rules/types.js';
import { asHeaderValues, ceilSeconds, rateLimitHeaders } from '../protocol/headers.js';
import type { AppliedPolicy, HeaderValue } from '../protocol/headers.js';
import { validateRateLimitRequest } from './validate-request.js';
import { MAX_UINT32 } from './types.js';
import type { DescriptorStatus, RateLimitRequest, RateLimitResponse, ResponseCode } from './types.js';

/** What the service needs of the limiter: independent checks, and atomic ones for `rate_limits`. */
export type DescriptorLimiter = Pick<Limiter, 'decideNow' | 'decideMany' | 'decideAll'>;

/** `off`; `draft`: RateLimit-Policy / RateLimit; `reference`: the reference service's three headers. */
export const RESPONSE_HEADER_MODES = ['off', 'draft', 'reference'] as const;
export type ResponseHeaderMode = (typeof RESPONSE_HEADER_MODES)[number];

/** What one descriptor's rule did, for per-rule metrics (units, as the reference service counts). */
export interface RuleOutcome {
  domain: string;
  rule: string;
  hits: number;
  overLimit: number;
  nearLimit: number;
  withinLimit: number;
  shadowMode: number;
}

export interface RuleStats {
  record(outcome: RuleOutcome): void;
  /** A request for a domain the rules do not know. */
  domainNotFound(): void;
  /** An over-limit answer turned OK by the global shadow mode. */
  globalShadowMode(domain: string): void;
}

export interface RateLimitServiceOptions {
  limiter: DescriptorLimiter;
  /** The rules in force now (they may be reloaded between two requests). */
  rules: () => RuleSet;
  /** Every over-limit answer becomes OK (counted). */
  shadowMode?: boolean;
  /** Every rule in quota mode. */
  quotaMode?: boolean;
  responseHeaders?: ResponseHeaderMode;
  stats?: RuleStats;
  /** Told of each over-limit answer that a shadow mode turned OK (for a throttled log line). */
  onShadowed?: (domain: string, rule: string) => void;
}

/** The reference service's near-limit ratio. */
const NEAR_LIMIT_RATIO = 0.8;

/** One limit to check for one descriptor. */
interface PlannedCheck {
  limit: RuleLimit;
  /** Built from the rule and the validated request: nothing here is parsed again. */
  check: Check;
  /** hits_addend exceeds the limit: never admissible, so only looked at (cost 0) and denied. */
  impossible: boolean;
}

interface Plan {
  match: MatchedRule;
  checks: PlannedCheck[];
  hits: number;
}

/** Each descriptor's decisions, by position; undefined where no limit applied. */
type Decided = (Decision[] | undefined)[];

/** The limit names some match replaces, or undefined when none does (the common case). */
function replacedNames(matches: readonly (MatchedRule | undefined)[]): Set<string> | undefined {
  let names: Set<string> | undefined;
  for (const match of matches) {
    if (!match || match.replaces.length === 0) continue;
    names ??= new Set();
    for (const name of match.replaces) names.add(name);
  }
  return names;
}

/**
 * Envoy's ShouldRateLimit without a transport: descriptors → rules → checks → statuses. gRPC,
 * `POST /v1/ratelimit` and `/v1/forward-auth` all call this, so they decide identically.
 */
export class RateLimitService {
  private readonly limiter: DescriptorLimiter;

  constructor(private readonly options: RateLimitServiceOptions) {
    this.limiter = options.limiter;
  }

  shouldRateLimit(input: RateLimitRequest): Promise<RateLimitResponse> {
    try {
      const answer = this.shouldRateLimitNow(input);
      return answer instanceof Promise ? answer : Promise.resolve(answer);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /**
   * The same answer, as a value when every decision was made in this process (the memory store):
   * a transport that can use it at once spends no promise. Throws what shouldRateLimit rejects with.
   */
  shouldRateLimitNow(input: RateLimitRequest): RateLimitResponse | Promise<RateLimitResponse> {
    const request = validateRateLimitRequest(input);
    const rules = this.options.rules();
    if (!rules.domains.has(request.domain)) this.options.stats?.domainNotFound();
    const matches = request.descriptors.map((descriptor) =>
      matchDescriptor(rules, request.domain, descriptor.entries, descriptor.limit),
    );
    const replaced = replacedNames(matches);
    const plans = request.descriptors.map((descriptor, index): Plan | undefined => {
      const match = matches[index];
      if (!match || match.unlimited) return undefined;
      const limits =
        replaced === undefined
          ? match.limits
          : match.limits.filter(({ name }) => name === undefined || !replaced.has(name));
      if (limits.length === 0) return undefined;
      const hits = descriptor.hitsAddend ?? Math.max(1, request.hitsAddend ?? 0);
      const key = descriptorKey(request.domain, descriptor.entries, match.sharedValues);
      const checks = limits.map((limit) => {
        const impossible = hits > limit.requestsPerUnit;
        const check: Check = {
          key,
          limit: limit.requestsPerUnit,
          windowMs: limit.windowMs,
          cost: impossible ? 0 : hits,
          algorithm: limit.algorithm,
        };
        return { limit, impossible, check };
      });
      return { match, checks, hits };
    });
    // One check's cost is at most its limit, itself at most MAX_UNITS: only a batch can exceed it.
    if (plans.length > 1 || (plans[0]?.checks.length ?? 0) > 1) {
      validateBatchCost(
        plans.flatMap((plan) => plan?.checks.map(({ check }) => check) ?? []),
        'descriptors',
      );
    }
    const decided = this.decide(plans);
    if (decided instanceof Promise) {
      return decided.then((decisions) => this.respond(request, matches, plans, decisions));
    }
    return this.respond(request, matches, plans, decided);
  }

  /** The statuses, the overall code and the headers, once every descriptor is decided. */
  private respond(
    request: RateLimitRequest,
    matches: readonly (MatchedRule | undefined)[],
    plans: readonly (Plan | undefined)[],
    decisions: readonly (Decision[] | undefined)[],
  ): RateLimitResponse {
    const statuses: DescriptorStatus[] = [];
    const policies: AppliedPolicy[] = [];
    let failedRateLimits = 0;
    let quotaDescriptors = 0;
    let failedQuotas = 0;
    let degraded = false;
    request.descriptors.forEach((_descriptor, index) => {
      const match = matches[index];
      const plan = plans[index];
      if (match?.unlimited) {
        statuses.push({ code: 'OK', limitRemaining: MAX_UINT32 });
        return;
      }
      const decided = decisions[index] ?? [];
      for (const decision of decided) if (decision.degraded === true) degraded = true;
      const status = plan ? this.status(request.domain, plan, decided, index, policies) : noLimit();
      statuses.push(status);
      const quota = this.options.quotaMode === true || match?.quotaMode === true;
      if (quota) quotaDescriptors++;
      if (status.code === 'OVER_LIMIT') {
        if (quota) failedQuotas++;
        else failedRateLimits++;
      }
    });
    // As the reference service: over limit if any rate limit is, or every quota-mode descriptor is.
    let overallCode: ResponseCode =
      failedRateLimits > 0 || (quotaDescriptors > 0 && failedQuotas === quotaDescriptors)
        ? 'OVER_LIMIT'
        : 'OK';
    if (overallCode === 'OVER_LIMIT' && this.options.shadowMode === true) {
      overallCode = 'OK';
      this.options.stats?.globalShadowMode(request.domain);
      this.options.onShadowed?.(request.domain, '*');
    }
    // Answered OK (shadow or quota mode): the headers must not tell the client to go away.
    const applied =
      overallCode === 'OK' &&
      policies.some(({ decision }) => !decision.allowed || decision.retryAfterMs !== 0)
        ? policies.map((policy) => ({
            ...policy,
            decision: { ...policy.decision, allowed: true, retryAfterMs: 0 },
          }))
        : policies;
    return {
      overallCode,
      statuses,
      responseHeadersToAdd: this.responseHeaders(statuses, applied),
      policies: applied,
      degraded,
    };
  }

  /**
   * Single limits in one round trip; each `rate_limits` list atomically, all at once. One single
   * limit alone (the common request) is one check: a value at once on an in-process store.
   */
  private decide(plans: readonly (Plan | undefined)[]): Decided | Promise<Decided> {
    const singles: { index: number; check: PlannedCheck }[] = [];
    const lists: { index: number; checks: PlannedCheck[] }[] = [];
    plans.forEach((plan, index) => {
      if (!plan) return;
      const [first] = plan.checks;
      if (plan.checks.length === 1 && first) singles.push({ index, check: first });
      else lists.push({ index, checks: plan.checks });
    });
    const results: (Decision[] | undefined)[] = plans.map(() => undefined);
    const [only] = singles;
    if (lists.length === 0 && singles.length <= 1) {
      if (!only) return results;
      const decided = this.limiter.decideNow(only.check.check);
      if (decided instanceof Promise) {
        return decided.then((decision) => {
          results[only.index] = [decision];
          return results;
        });
      }
      results[only.index] = [decided];
      return results;
    }
    return Promise.all([
      singles.length === 0
        ? undefined
        : this.limiter.decideMany(singles.map(({ check }) => check.check)).then((decisions) => {
            singles.forEach(({ index }, position) => {
              const decision = decisions[position];
              if (decision) results[index] = [decision];
            });
          }),
      ...lists.map(async ({ index, checks }) => {
        const batch = await this.limiter
          .decideAll(checks.map(({ check }) => check))
          .catch((error: unknown) => {
            throw ofDescriptor(error, index);
          });
        results[index] = batch.results;
      }),
    ]).then(() => results);
  }

  private status(
    domain: string,
    plan: Plan,
    decisions: readonly Decision[],
    index: number,
    policies: AppliedPolicy[],
  ): DescriptorStatus {
    const { match, checks } = plan;
    const denied = checks.some(
      ({ impossible }, position) => impossible || decisions[position]?.allowed === false,
    );
    // Report the limit that decided: one with no room for the cost (in an atomic batch the others
    // are refused too), else the one with least room left.
    const tooFull = (position: number) => {
      const check = checks[position];
      const decision = decisions[position];
      if (!check || !decision) return false;
      return check.impossible || (!decision.allowed && decision.remaining < check.check.cost);
    };
    let reported = 0;
    for (let position = 1; position < checks.length; position++) {
      const current = decisions[reported];
      const candidate = decisions[position];
      if (!candidate || !current) continue;
      if (denied ? tooFull(position) && !tooFull(reported) : candidate.remaining < current.remaining)
        reported = position;
    }
    const check = checks[reported];
    const decision = decisions[reported];
    if (!check || !decision) return noLimit();
    const { limit } = check;
    const durationUntilResetMs = resetAfterOf(decision, limit);
    const retryAfterMs = check.impossible ? limit.windowMs : decision.retryAfterMs;
    checks.forEach(({ limit: applied }, position) => {
      const each = decisions[position];
      if (!each) return;
      const impossible = checks[position]?.impossible === true;
      policies.push({
        name:
          applied.name ?? (checks.length === 1 ? descriptorName(index) : `descriptor-${index}-${position}`),
        windowMs: applied.windowMs,
        // Admitted as decided (the common case): the decision as it is, not a copy.
        decision: !denied
          ? each
          : {
              ...each,
              allowed: false,
              remaining: 0,
              retryAfterMs: impossible ? applied.windowMs : each.retryAfterMs,
            },
      });
    });
    this.record(domain, match, plan, decisions, denied);
    let code: ResponseCode = denied ? 'OVER_LIMIT' : 'OK';
    if (denied && match.shadowMode) {
      code = 'OK';
      this.options.onShadowed?.(domain, match.statKey);
    }
    return {
      code,
      currentLimit: { name: limit.name, requestsPerUnit: limit.requestsPerUnit, unit: limit.unit },
      // The reference service reports 0 left once over the limit, whatever the cost asked.
      limitRemaining: denied ? 0 : Math.min(MAX_UINT32, decision.remaining),
      durationUntilResetMs: denied ? Math.max(durationUntilResetMs, retryAfterMs) : durationUntilResetMs,
    };
  }

  private record(
    domain: string,
    match: MatchedRule,
    plan: Plan,
    decisions: readonly Decision[],
    denied: boolean,
  ): void {
    const stats = this.options.stats;
    if (!stats) return;
    const { hits } = plan;
    let nearLimit = 0;
    if (!denied) {
      // Units of this request that landed above 80 % of the tightest limit.
      for (const [position, { limit }] of plan.checks.entries()) {
        const count = decisions[position]?.count ?? 0;
        const threshold = Math.floor(limit.requestsPerUnit * NEAR_LIMIT_RATIO);
        nearLimit = Math.max(nearLimit, Math.min(hits, Math.max(0, count - threshold)));
      }
    }
    stats.record({
      domain,
      rule: match.statKey,
      hits,
      overLimit: denied ? hits : 0,
      nearLimit,
      withinLimit: denied ? 0 : hits,
      shadowMode: denied && match.shadowMode ? hits : 0,
    });
  }

  private responseHeaders(
    statuses: readonly DescriptorStatus[],
    policies: readonly AppliedPolicy[],
  ): HeaderValue[] {
    const mode = this.options.responseHeaders ?? 'off';
    if (mode === 'off') return [];
    if (mode === 'draft') return asHeaderValues(rateLimitHeaders(policies));
    // The reference service's three headers, for the descriptor closest to (or over) its limit.
    let closest: DescriptorStatus | undefined;
    for (const status of statuses) {
      if (!status.currentLimit) continue;
      if (status.code === 'OVER_LIMIT') {
        closest = status;
        break;
      }
      if (!closest || status.limitRemaining < closest.limitRemaining) closest = status;
    }
    if (!closest?.currentLimit) return [];
    return [
      { key: 'RateLimit-Limit', value: String(closest.currentLimit.requestsPerUnit) },
      { key: 'RateLimit-Remaining', value: String(closest.limitRemaining) },
      { key: 'RateLimit-Reset', value: String(ceilSeconds(closest.durationUntilResetMs ?? 0)) },
    ];
  }
}

/** `descriptor-<index>`, made once per index: the name of a descriptor's only policy. */
const DESCRIPTOR_NAMES: string[] = [];
function descriptorName(index: number): string {
  return (DESCRIPTOR_NAMES[index] ??= `descriptor-${index}`);
}

function noLimit(): DescriptorStatus {
  return { code: 'OK', limitRemaining: 0 };
}

/**
 * Until the window resets. A fixed window always has an end, even when nothing is counted yet
 * (the reference service always reports it); the other algorithms report when the counter empties.
 */
function resetAfterOf(decision: Decision, limit: RuleLimit): number {
  if (decision.resetAfterMs > 0 || limit.algorithm !== 'fixed-window') return decision.resetAfterMs;
  return limit.windowMs - (Date.now() % limit.windowMs);
}

/**
 * The counter of a descriptor: its domain and entries, each part percent-encoded so that no two
 * descriptors share one (the reference service's `key_value_` joins can collide). A share_threshold
 * entry counts under its wildcard value. Longer than a key may be: hashed, still distinct.
 */
export function descriptorKey(
  domain: string,
  entries: readonly DescriptorEntry[],
  sharedValues: ReadonlyMap<number, string>,
): string {
  let key = `rls|${encodeKeyPart(domain)}`;
  for (let index = 0; index < entries.length; index++) {
    const { key: name, value } = entries[index] as DescriptorEntry;
    key += `|${encodeKeyPart(name)}=${encodeKeyPart(sharedValues.get(index) ?? value)}`;
  }
  // A UTF-16 code unit is at most 3 bytes of UTF-8: a short key needs no count.
  if (key.length <= MAX_KEY_BYTES / 3 || Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES) return key;
  return `rls|${encodeKeyPart(domain).slice(0, 256)}|#${createHash('sha256').update(key).digest('hex')}`;
}

const KEY_SEPARATORS = /[%|=]/;

/** A part of a descriptor's key with its separators percent-encoded; most parts have none. */
function encodeKeyPart(text: string): string {
  if (!KEY_SEPARATORS.test(text)) return text;
  return text.replace(/[%|=]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A refusal of a descriptor's atomic list (its cluster slot, say) names that descriptor: the
 * service knows which one it sent, so nothing is read back out of the limiter's field.
 */
function ofDescriptor(error: unknown, index: number): unknown {
  if (!(error instanceof InvalidArgumentError)) return error;
  return new InvalidArgumentError(`descriptors[${index}]`, error.message);
}
