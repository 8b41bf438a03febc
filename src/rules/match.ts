import { RULES_DEFAULT_ALGORITHM, UNIT_SECONDS } from './types.js';
import type { RuleLevel, RuleLimit, RuleNode, RuleSet, RuleUnit } from './types.js';

/** One `key=value` of a request's descriptor. */
export interface DescriptorEntry {
  key: string;
  value: string;
}

/** Envoy's per-descriptor `limit`: applies instead of what the rules file says. */
export interface LimitOverride {
  requestsPerUnit: number;
  unit: RuleUnit;
}

/** What a descriptor matched: the limits to check, and how to name and treat them. */
export interface MatchedRule {
  /** The rules-file node, absent for an override that matched none. */
  node: RuleNode | undefined;
  limits: readonly RuleLimit[];
  unlimited: boolean;
  /** Names of other limits this match removes from the request (`replaces`). */
  replaces: readonly string[];
  shadowMode: boolean;
  quotaMode: boolean;
  /** The rule in metrics (the reference service's stat key, bounded by the metrics module). */
  statKey: string;
  /** Entry index → the wildcard value counted instead of the request's (share_threshold). */
  sharedValues: ReadonlyMap<number, string>;
}

/** Does `text` match a value split on `*`? Each `*` matches any run, greedily, without backtracking. */
export function wildcardMatch(parts: readonly string[], text: string): boolean {
  const [first = '', ...rest] = parts;
  if (rest.length === 0) return first === text;
  const last = rest.pop() ?? '';
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  if (text.length < parts.reduce((total, part) => total + part.length, 0)) return false;
  let remaining = text.slice(first.length, text.length - last.length);
  for (const part of rest) {
    const at = remaining.indexOf(part);
    if (at < 0) return false;
    remaining = remaining.slice(at + part.length);
  }
  return true;
}

/** One level of the walk: what the entry landed on, and how. */
interface Step {
  node: RuleNode | undefined;
  wildcardKey: string | undefined;
  byValue: boolean;
}

/** Exactly the reference service's lookup: `key_value`, then wildcards in file order, then `key`. */
function step(level: RuleLevel, entry: DescriptorEntry): Step {
  const composite = `${entry.key}_${entry.value}`;
  const exact = level.byLookupKey.get(composite);
  if (exact) return { node: exact, wildcardKey: undefined, byValue: true };
  for (const wildcard of level.wildcards) {
    if (wildcardMatch(wildcard.parts, composite)) {
      return { node: wildcard.node, wildcardKey: wildcard.lookupKey, byValue: true };
    }
  }
  return { node: level.byLookupKey.get(entry.key), wildcardKey: undefined, byValue: false };
}

/** The `*` pattern part of a wildcard lookup key, as the counter and metrics name it. */
function patternValue(lookupKey: string, key: string): string {
  return lookupKey.startsWith(`${key}_`) ? lookupKey.slice(key.length + 1) : lookupKey;
}

/**
 * The limit a descriptor gets, following the reference service exactly: per entry, the exact
 * `key_value` first, then wildcard values in file order, then the key-only default; greedy, no
 * backtracking; a limit applies only where the last entry lands on a node with a `rate_limit`.
 * Undefined means no limit (unknown domain, no match, or a node without `rate_limit`).
 */
export function matchDescriptor(
  rules: RuleSet,
  domain: string,
  entries: readonly DescriptorEntry[],
  override?: LimitOverride,
): MatchedRule | undefined {
  const domainRules = rules.domains.get(domain);
  if (!domainRules) return undefined;
  if (override) return overrideRule(domain, entries, override, walk(domainRules.level, domain, entries));
  return walk(domainRules.level, domain, entries);
}

function walk(root: RuleLevel, domain: string, entries: readonly DescriptorEntry[]): MatchedRule | undefined {
  let level = root;
  let matched: RuleNode | undefined;
  const sharedValues = new Map<number, string>();
  const detailed: string[] = [domain];
  const valueToMetric: string[] = [domain];
  for (const [index, entry] of entries.entries()) {
    detailed.push(`${entry.key}_${entry.value}`);
    const { node, wildcardKey, byValue } = step(level, entry);
    if (node?.shareThreshold && wildcardKey !== undefined) {
      sharedValues.set(index, patternValue(wildcardKey, entry.key));
    }
    valueToMetric.push(
      node ? metricSegment(entry, node, wildcardKey, byValue, sharedValues.get(index)) : entry.key,
    );
    if (node?.hasRateLimit && index === entries.length - 1) matched = node;
    if (!node || node.level.byLookupKey.size === 0) break;
    level = node.level;
  }
  if (!matched) return undefined;
  return {
    node: matched,
    limits: matched.limits,
    unlimited: matched.unlimited,
    replaces: matched.replaces,
    shadowMode: matched.shadowMode,
    quotaMode: matched.quotaMode,
    statKey: statKeyOf(matched, domain, entries, sharedValues, detailed, valueToMetric),
    sharedValues,
  };
}

/** How the reference service writes one level of a value_to_metric stat key. */
function metricSegment(
  entry: DescriptorEntry,
  node: RuleNode,
  wildcardKey: string | undefined,
  byValue: boolean,
  shared: string | undefined,
): string {
  let value: string;
  if (wildcardKey !== undefined) {
    value = shared ?? (node.valueToMetric ? entry.value : patternValue(wildcardKey, entry.key));
  } else if (byValue) {
    value = entry.value;
  } else {
    value = node.valueToMetric ? entry.value : '';
  }
  return value === '' ? entry.key : `${entry.key}_${value}`;
}

function statKeyOf(
  node: RuleNode,
  domain: string,
  entries: readonly DescriptorEntry[],
  sharedValues: ReadonlyMap<number, string>,
  detailed: readonly string[],
  valueToMetric: readonly string[],
): string {
  if (node.detailedMetric) {
    if (sharedValues.size === 0) return detailed.join('.');
    const segments = entries.map(({ key, value }, index) => {
      const shared = sharedValues.get(index);
      if (shared !== undefined) return `${key}_${shared}`;
      return value === '' ? key : `${key}_${value}`;
    });
    return [domain, ...segments].join('.');
  }
  return valueToMetric.join('.');
}

/**
 * The reference service applies an override to any descriptor of a known domain, without
 * shadow mode. We keep the matched rule's algorithm (fixed window when none matched), and name
 * it by its keys only: the values may be personal data and are unbounded.
 */
function overrideRule(
  domain: string,
  entries: readonly DescriptorEntry[],
  override: LimitOverride,
  matched: MatchedRule | undefined,
): MatchedRule {
  const algorithm = matched?.limits[0]?.algorithm ?? RULES_DEFAULT_ALGORITHM;
  return {
    node: matched?.node,
    limits: [
      {
        requestsPerUnit: override.requestsPerUnit,
        unit: override.unit,
        unitMultiplier: 1,
        windowMs: UNIT_SECONDS[override.unit] * 1000,
        algorithm,
        name: undefined,
        replaces: [],
      },
    ],
    unlimited: false,
    replaces: [],
    shadowMode: false,
    quotaMode: false,
    statKey: [domain, ...entries.map(({ key }) => key)].join('.') + ':override',
    sharedValues: new Map(),
  };
}
