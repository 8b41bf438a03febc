import type { AlgorithmName } from '../../core/algorithms/index.js';
import { parseWindow } from '../../core/duration.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Check, Decision } from '../../core/types.js';
import { unaffordable, validateAlgorithm, validateLimit } from '../../core/validate.js';
import type { LeaseAdmission } from './concurrency.js';
import type { AdapterLimiter } from './limiter.js';

/** One limit of a middleware: `limit` units per `window`, counted by `algorithm`. */
export interface LimitRule {
  limit: number;
  /** Seconds (number) or a duration string: "500ms", "10s", "1m", "1h", "1d". */
  window: number | string;
  algorithm?: AlgorithmName;
  /** The policy's name in the RateLimit headers. Default "default" (one limit) or "limit-<i>". */
  name?: string;
}

/** A rule after validation at build time, so that a bad option fails at start, not per request. */
export interface ResolvedRule {
  limit: number;
  windowMs: number;
  algorithm: AlgorithmName;
  name: string;
}

/** What one request was charged, and what the limiter said. */
export interface Admission {
  allowed: boolean;
  key: string;
  cost: number;
  rules: readonly ResolvedRule[];
  decisions: readonly Decision[];
  /** What the `concurrency` option decided, when it has one and the rate limits admitted. */
  concurrency?: LeaseAdmission;
}

export interface RuleOptions {
  limit?: number;
  window?: number | string;
  algorithm?: AlgorithmName;
  /** Several limits on one key, checked atomically: all admit and record the cost, or none does. */
  limits?: readonly LimitRule[];
}

const POLICY_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A policy's name, as the RateLimit headers carry it (a quoted string: no quotes, no escapes). */
export function validatePolicyName(name: unknown, field: string): string {
  if (typeof name !== 'string' || !POLICY_NAME.test(name)) {
    throw new InvalidArgumentError(field, `${field} must be 1..64 of A-Z a-z 0-9 _ . : -`);
  }
  return name;
}

/** `limit` / `window` / `algorithm`, or `limits: [...]`: validated once, when the middleware is built. */
export function resolveRules(options: RuleOptions): ResolvedRule[] {
  const given =
    options.limits ??
    (options.limit === undefined && options.window === undefined
      ? []
      : [{ limit: options.limit, window: options.window, algorithm: options.algorithm }]);
  if (given.length === 0) {
    throw new InvalidArgumentError('limit', 'give `limit` and `window`, or `limits: [{ limit, window }]`');
  }
  const rules = given.map((rule, index) => {
    const field = options.limits ? `limits[${index}]` : '';
    const at = (name: string) => (field === '' ? name : `${field}.${name}`);
    const algorithm = validateAlgorithm(rule.algorithm ?? options.algorithm, at('algorithm'));
    if (rule.window === undefined)
      throw new InvalidArgumentError(at('window'), `${at('window')} is required`);
    const name = validatePolicyName(
      (rule as LimitRule).name ?? (given.length === 1 ? 'default' : `limit-${index}`),
      at('name'),
    );
    return {
      limit: validateLimit(rule.limit, at('limit')),
      windowMs: parseWindow(rule.window, at('window')),
      algorithm,
      name,
    };
  });
  const seen = new Set(rules.map((rule) => `${rule.algorithm}:${rule.windowMs}`));
  if (seen.size !== rules.length) {
    throw new InvalidArgumentError(
      'limits',
      'two limits share an algorithm and a window: they would share a counter',
    );
  }
  return rules;
}

/** The check of one limit: the key and cost of this request, the rest validated at build time. */
function checkOf(rule: ResolvedRule, key: string, cost: number): Check {
  return { key, limit: rule.limit, windowMs: rule.windowMs, cost, algorithm: rule.algorithm };
}

/**
 * Charge `cost` to `key` under every rule: one check, or one atomic batch for several limits.
 * A cost above a limit is a denial (it could never be admitted), not an error. `key` and `cost`
 * are validated by the caller (the middleware), the rules when they were resolved.
 */
export async function admit(
  limiter: AdapterLimiter,
  rules: readonly ResolvedRule[],
  key: string,
  cost: number,
): Promise<Admission> {
  if (rules.some((rule) => cost > rule.limit)) {
    const decisions = rules.map((rule) => unaffordable(rule));
    return { allowed: false, key, cost, rules, decisions };
  }
  const [only] = rules;
  if (rules.length === 1 && only) {
    const decision = await limiter.decide(checkOf(only, key, cost));
    return { allowed: decision.allowed, key, cost, rules, decisions: [decision] };
  }
  const batch = await limiter.decideAll(rules.map((rule) => checkOf(rule, key, cost)));
  return { allowed: batch.allowed, key, cost, rules, decisions: batch.results };
}

/**
 * Give back what an admitted request spent (skipFailedRequests / skipSuccessfulRequests). Only
 * allowed, counted decisions are refunded: a denied request recorded nothing, and a degraded one
 * was never counted.
 */
export async function refund(limiter: AdapterLimiter, admission: Admission): Promise<void> {
  if (!admission.allowed || admission.cost === 0) return;
  await Promise.all(
    admission.rules.map((rule, index) => {
      if (admission.decisions[index]?.degraded === true) return Promise.resolve();
      // A refund gives back up to its cost: never more than the limit could have taken.
      return limiter.refundCheck(checkOf(rule, admission.key, Math.min(admission.cost, rule.limit)));
    }),
  );
}
