import { Counter, Gauge } from 'prom-client';
import type { QuotaObserver, QuotaReportEvent } from '../envoy/quota-service.js';
import type { RuleSet } from '../rules/types.js';
import type { ServiceMetrics } from './metrics.js';
import { MAX_RULE_SERIES, OVERFLOW_RULE } from './rule-stats.js';

/** What one stream of this node holds of one bucket, until the proxy drops it at its TTL. */
interface Holding {
  series: string;
  bucket: string;
  perSecond: number;
  expiresAtMs: number;
}

const SEPARATOR = '\0';

/**
 * Per-quota RLQS metrics of this node. The `quota` label is the rules entry's name (never a
 * bucket's values: a `"*"` entry has one bucket per distinct value, which a client chooses), and
 * past MAX_RULE_SERIES (domain, quota) pairs a new one is counted as `_other_`. Every series is
 * this node's part, so `sum by (domain, quota)` across nodes is the fleet's; the limit is the same
 * on every node (use `max`). Holdings are read at scrape time, past their TTL dropped.
 */
export class QuotaSeries implements QuotaObserver {
  private readonly streams = new Map<string, Map<string, Holding>>();
  private readonly known = new Set<string>();
  private readonly allowed: Counter<'domain' | 'quota'>;
  private readonly denied: Counter<'domain' | 'quota'>;
  private readonly rebalances: Counter<'domain' | 'quota'>;

  constructor(
    metrics: ServiceMetrics,
    private readonly rules: () => RuleSet,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly maxSeries = MAX_RULE_SERIES,
  ) {
    const { registry } = metrics;
    const labelNames = ['domain', 'quota'] as const;
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames, registers: [registry] });
    this.allowed = counter(
      'ratelimiter_rlqs_reported_allowed_total',
      'Requests the proxies on this node reported allowed, per quota.',
    );
    this.denied = counter(
      'ratelimiter_rlqs_reported_denied_total',
      'Requests the proxies on this node reported denied, per quota.',
    );
    this.rebalances = counter(
      'ratelimiter_rlqs_rebalances_total',
      'Assignments this node changed (a new full bucket in Envoy), per quota.',
    );
    const gauge = (name: string, help: string, fill: (gauge: Gauge<'domain' | 'quota'>) => void) => {
      const instance: Gauge<'domain' | 'quota'> = new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect: () => {
          instance.reset();
          fill(instance);
        },
      });
    };
    gauge(
      'ratelimiter_rlqs_quota_limit_per_second',
      'The limit of each bucket of a quota, in requests per second (a "*" entry: per distinct value).',
      (instance) => {
        for (const [domain, ruleSet] of this.rules().domains) {
          for (const rule of ruleSet.quotas) {
            const labels = this.labels(domain, rule.name);
            // The overflow series sums other series; a limit there would be one of many.
            if (labels.quota !== OVERFLOW_RULE) instance.set(labels, rule.requestsPerUnit / rule.unitSeconds);
          }
        }
      },
    );
    gauge(
      'ratelimiter_rlqs_quota_assigned_per_second',
      "What this node's streams are assigned together, in requests per second, over the quota's buckets.",
      (instance) => {
        this.tally((labels, totals) => {
          instance.set(labels, totals.perSecond);
        });
      },
    );
    gauge(
      'ratelimiter_rlqs_quota_streams',
      "This node's streams holding an assignment of the quota.",
      (instance) => {
        this.tally((labels, totals) => {
          instance.set(labels, totals.streams);
        });
      },
    );
    gauge(
      'ratelimiter_rlqs_quota_buckets',
      "Distinct buckets of the quota this node's streams hold (the limit applies to each).",
      (instance) => {
        this.tally((labels, totals) => {
          instance.set(labels, totals.buckets);
        });
      },
    );
  }

  reported(event: QuotaReportEvent): void {
    const labels = this.labels(event.domain, event.rule.name);
    if (event.usage.allowed > 0) this.allowed.inc(labels, event.usage.allowed);
    if (event.usage.denied > 0) this.denied.inc(labels, event.usage.denied);
    if (event.changed) this.rebalances.inc(labels);
    let holdings = this.streams.get(event.stream);
    if (!holdings) {
      holdings = new Map();
      this.streams.set(event.stream, holdings);
    }
    holdings.set(event.bucket, {
      series: `${labels.domain}${SEPARATOR}${labels.quota}`,
      bucket: event.bucket,
      perSecond: event.tokens / event.fillIntervalS,
      expiresAtMs: this.nowMs() + event.ttlS * 1000,
    });
  }

  closed(stream: string): void {
    this.streams.delete(stream);
  }

  /** The series' labels: the entry's name in its domain, `_other_` past the bound. */
  private labels(domain: string, quota: string): { domain: string; quota: string } {
    const key = `${domain}${SEPARATOR}${quota}`;
    if (this.known.has(key)) return { domain, quota };
    if (this.known.size >= this.maxSeries) return { domain, quota: OVERFLOW_RULE };
    this.known.add(key);
    return { domain, quota };
  }

  /** Live holdings summed per series (expired ones dropped), handed to `set` one series at a time. */
  private tally(
    set: (
      labels: { domain: string; quota: string },
      totals: { perSecond: number; streams: number; buckets: number },
    ) => void,
  ): void {
    const nowMs = this.nowMs();
    const totals = new Map<string, { perSecond: number; streams: number; buckets: Set<string> }>();
    for (const [stream, holdings] of this.streams) {
      const seen = new Set<string>();
      for (const [bucket, holding] of holdings) {
        if (holding.expiresAtMs <= nowMs) {
          holdings.delete(bucket);
          continue;
        }
        let total = totals.get(holding.series);
        if (!total) {
          total = { perSecond: 0, streams: 0, buckets: new Set() };
          totals.set(holding.series, total);
        }
        total.perSecond += holding.perSecond;
        total.buckets.add(holding.bucket);
        if (!seen.has(holding.series)) {
          seen.add(holding.series);
          total.streams += 1;
        }
      }
      if (holdings.size === 0) this.streams.delete(stream);
    }
    for (const [series, total] of totals) {
      const [domain = '', quota = ''] = series.split(SEPARATOR);
      set(
        { domain, quota },
        { perSecond: total.perSecond, streams: total.streams, buckets: total.buckets.size },
      );
    }
  }
}
