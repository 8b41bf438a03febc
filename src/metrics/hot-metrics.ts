import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Metrics touched by every decision, kept in plain numbers and handed to prom-client only when
 * scraped. prom-client hashes the label set, copies objects and reads the high-resolution clock
 * on each observation: a few microseconds a request, a tenth of what the whole service spends
 * beyond Fastify on a decision. The exposition is the same.
 */

/** One series of a TalliedCounter: undefined until first counted, so an untouched series is not exposed. */
export interface TallyCell {
  value: number | undefined;
}

/** A counter by a fixed, small set of label values, incremented without prom-client per call. */
export class TalliedCounter<Label extends string> {
  private readonly tallies = new Map<string, Map<string, TallyCell>>();

  constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly labelNames: readonly [Label, Label],
  ) {
    const counter: Counter<Label> = new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect: () => {
        counter.reset();
        for (const [first, inner] of this.tallies) {
          for (const [second, { value }] of inner) {
            if (value === undefined) continue;
            counter.inc({ [labelNames[0]]: first, [labelNames[1]]: second } as Record<Label, string>, value);
          }
        }
      },
    });
  }

  inc(first: string, second: string, by = 1): void {
    const cell = this.cell(first, second);
    cell.value = (cell.value ?? 0) + by;
  }

  /** The series of these labels, for a caller that looks it up once and counts into it directly. */
  cell(first: string, second: string): TallyCell {
    let inner = this.tallies.get(first);
    if (!inner) {
      inner = new Map();
      this.tallies.set(first, inner);
    }
    let cell = inner.get(second);
    if (!cell) {
      cell = { value: undefined };
      inner.set(second, cell);
    }
    return cell;
  }
}

interface Buckets {
  counts: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** A histogram by one label, observed without prom-client per call; prom-client formats it at scrape time. */
export class TalliedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Buckets>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly upperBounds: readonly number[],
  ) {
    // A duck-typed metric: the registry asks it for its values like any of its own.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(label: string, seconds: number): void {
    let buckets = this.series.get(label);
    if (!buckets) {
      buckets = { counts: new Array<number>(this.upperBounds.length).fill(0), sum: 0, count: 0 };
      this.series.set(label, buckets);
    }
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] ?? Infinity)) {
        buckets.counts[i] = (buckets.counts[i] ?? 0) + 1;
        break;
      }
    }
    buckets.sum += seconds;
    buckets.count++;
  }

  getForPromString(): Promise<{
    name: string;
    help: string;
    type: string;
    values: MetricValue[];
    aggregator: string;
  }> {
    const values: MetricValue[] = [];
    for (const [label, buckets] of this.series) {
      let cumulative = 0;
      this.upperBounds.forEach((bound, i) => {
        cumulative += buckets.counts[i] ?? 0;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: bound, [this.labelName]: label },
          value: cumulative,
        });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { le: '+Inf', [this.labelName]: label },
        value: buckets.count,
      });
      values.push({
        metricName: `${this.name}_sum`,
        labels: { [this.labelName]: label },
        value: buckets.sum,
      });
      values.push({
        metricName: `${this.name}_count`,
        labels: { [this.labelName]: label },
        value: buckets.count,
      });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  get(): ReturnType<TalliedHistogram['getForPromString']> {
    return this.getForPromString();
  }

  reset(): void {
    this.series.clear();
  }
}
