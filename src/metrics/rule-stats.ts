import type { RuleOutcome, RuleStats } from '../service/rate-limit-service.js';
import type { ServiceMetrics } from './metrics.js';

/** Distinct (domain, rule) series at most; detailed_metric rules could otherwise grow without bound. */
export const MAX_RULE_SERIES = 1000;

/** Where series past the bound are counted, so totals stay right while cardinality stays bounded. */
export const OVERFLOW_RULE = '_other_';

/**
 * Per-rule metrics with bounded cardinality: a rule's label is its path in the rules file (or the
 * request's path for detailed_metric / value_to_metric rules, as the reference service names
 * them), and past MAX_RULE_SERIES distinct series every new one is counted as `_other_`.
 */
export class RuleSeries implements RuleStats {
  private readonly seen = new Set<string>();

  constructor(
    private readonly metrics: ServiceMetrics,
    /** Known domains only: a request's domain is text a client chose. */
    private readonly isKnownDomain: (domain: string) => boolean,
    private readonly maxSeries = MAX_RULE_SERIES,
  ) {}

  record(outcome: RuleOutcome): void {
    const labels = this.labels(outcome.domain, outcome.rule);
    const { metrics } = this;
    metrics.ruleHits.inc(labels, outcome.hits);
    if (outcome.overLimit > 0) metrics.ruleOverLimit.inc(labels, outcome.overLimit);
    if (outcome.nearLimit > 0) metrics.ruleNearLimit.inc(labels, outcome.nearLimit);
    if (outcome.withinLimit > 0) metrics.ruleWithinLimit.inc(labels, outcome.withinLimit);
    if (outcome.shadowMode > 0) metrics.ruleShadowMode.inc(labels, outcome.shadowMode);
  }

  domainNotFound(): void {
    this.metrics.domainNotFound.inc();
  }

  globalShadowMode(domain: string): void {
    this.metrics.globalShadowMode.inc({ domain: this.isKnownDomain(domain) ? domain : OVERFLOW_RULE });
  }

  private labels(domain: string, rule: string): { domain: string; rule: string } {
    if (!this.isKnownDomain(domain)) return { domain: OVERFLOW_RULE, rule: OVERFLOW_RULE };
    const series = `${domain}\0${rule}`;
    if (this.seen.has(series)) return { domain, rule };
    if (this.seen.size >= this.maxSeries) return { domain, rule: OVERFLOW_RULE };
    this.seen.add(series);
    return { domain, rule };
  }
}
