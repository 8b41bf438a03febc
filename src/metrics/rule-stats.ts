import type { RuleOutcome, RuleStats } from '../envoy/rate-limit-service.js';
import type { TallyCell } from './hot-metrics.js';
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
/** One series' counters, looked up once: prom-client hashes a label set on every labelled inc(). */
interface SeriesCounters {
  hits: TallyCell;
  overLimit: TallyCell;
  nearLimit: TallyCell;
  withinLimit: TallyCell;
  shadowMode: TallyCell;
}

function add(cell: TallyCell, units: number): void {
  cell.value = (cell.value ?? 0) + units;
}

export class RuleSeries implements RuleStats {
  private readonly series = new Map<string, SeriesCounters>();

  constructor(
    private readonly metrics: ServiceMetrics,
    /** Known domains only: a request's domain is text a client chose. */
    private readonly isKnownDomain: (domain: string) => boolean,
    private readonly maxSeries = MAX_RULE_SERIES,
  ) {}

  record(outcome: RuleOutcome): void {
    const counters = this.countersOf(outcome.domain, outcome.rule);
    add(counters.hits, outcome.hits);
    if (outcome.overLimit > 0) add(counters.overLimit, outcome.overLimit);
    if (outcome.nearLimit > 0) add(counters.nearLimit, outcome.nearLimit);
    if (outcome.withinLimit > 0) add(counters.withinLimit, outcome.withinLimit);
    if (outcome.shadowMode > 0) add(counters.shadowMode, outcome.shadowMode);
  }

  domainNotFound(): void {
    this.metrics.domainNotFound.inc();
  }

  globalShadowMode(domain: string): void {
    this.metrics.globalShadowMode.inc({ domain: this.isKnownDomain(domain) ? domain : OVERFLOW_RULE });
  }

  private countersOf(domain: string, rule: string): SeriesCounters {
    const known = this.isKnownDomain(domain);
    const key = known ? `${domain}\0${rule}` : `\0${OVERFLOW_RULE}`;
    const existing = this.series.get(key);
    if (existing) return existing;
    // Past the bound, a new series is counted in its domain's `_other_`; an unknown domain in `_other_` too.
    const labels = !known
      ? { domain: OVERFLOW_RULE, rule: OVERFLOW_RULE }
      : this.series.size >= this.maxSeries
        ? { domain, rule: OVERFLOW_RULE }
        : { domain, rule };
    const { metrics } = this;
    const counters: SeriesCounters = {
      hits: metrics.ruleHits.cell(labels.domain, labels.rule),
      overLimit: metrics.ruleOverLimit.cell(labels.domain, labels.rule),
      nearLimit: metrics.ruleNearLimit.cell(labels.domain, labels.rule),
      withinLimit: metrics.ruleWithinLimit.cell(labels.domain, labels.rule),
      shadowMode: metrics.ruleShadowMode.cell(labels.domain, labels.rule),
    };
    // An overflowed series is not remembered under its own name: the map stays bounded too.
    if (labels.rule !== OVERFLOW_RULE || !known) this.series.set(key, counters);
    else this.series.set(`${domain}\0${OVERFLOW_RULE}`, counters);
    return counters;
  }
}
