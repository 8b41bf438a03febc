import type { AlgorithmName } from '../core/algorithms/index.js';
import type { QuotaRule } from './quotas.js';

/** The units of the reference service's rules file; month is 30 days and year 365, as there. */
export const RULE_UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'] as const;
export type RuleUnit = (typeof RULE_UNITS)[number];

export const UNIT_SECONDS: Record<RuleUnit, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
  week: 7 * 86_400,
  month: 30 * 86_400,
  year: 365 * 86_400,
};

/** The reference service's default: a fixed window, so a rules file written for it decides the same. */
export const RULES_DEFAULT_ALGORITHM: AlgorithmName = 'fixed-window';

/** One limit of a rule: `requests_per_unit` per `unit_multiplier` x `unit`, counted by `algorithm`. */
export interface RuleLimit {
  requestsPerUnit: number;
  unit: RuleUnit;
  unitMultiplier: number;
  windowMs: number;
  algorithm: AlgorithmName;
  /** `rate_limit.name`: what `replaces` refers to. */
  name: string | undefined;
  replaces: readonly string[];
}

/** One descriptor node of the rules tree (a `descriptors` entry of the file). */
export interface RuleNode {
  key: string;
  value: string | undefined;
  /** `key` or `key_value`: the reference service's lookup key at one level. */
  lookupKey: string;
  /** Empty when the node has no `rate_limit`; several with our `rate_limits` list. */
  limits: readonly RuleLimit[];
  /** The node has a `rate_limit` (or `rate_limits`) block, including `unlimited: true`. */
  hasRateLimit: boolean;
  unlimited: boolean;
  /** Names of limits this node's limits replace (an unlimited `rate_limit` may replace too). */
  replaces: readonly string[];
  shadowMode: boolean;
  quotaMode: boolean;
  detailedMetric: boolean;
  valueToMetric: boolean;
  shareThreshold: boolean;
  metadata: unknown;
  /** `domain.key_value.subkey`: the rule as the reference service names it in its stats. */
  statKey: string;
  level: RuleLevel;
  /** Where the node starts, for messages. */
  file: string;
  line: number;
}

/** The children of a node (or of a domain): exact lookup, then wildcards in file order. */
export interface RuleLevel {
  byLookupKey: ReadonlyMap<string, RuleNode>;
  wildcards: readonly WildcardRule[];
}

/** A `value` with `*` in it, split on `*` once at load time. */
export interface WildcardRule {
  lookupKey: string;
  parts: readonly string[];
  node: RuleNode;
}

export interface DomainRules {
  domain: string;
  file: string;
  level: RuleLevel;
  /** RLQS quotas of the domain (src/rules/quotas.ts), in file order. */
  quotas: readonly QuotaRule[];
}

/** Everything loaded from the rules path: one domain per file. */
export interface RuleSet {
  domains: ReadonlyMap<string, DomainRules>;
  files: readonly string[];
}

export const EMPTY_RULES: RuleSet = { domains: new Map(), files: [] };

/** A rules file that cannot be loaded: the file, the line (1-based) and the reason. */
export class RulesError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'RulesError';
  }
}
