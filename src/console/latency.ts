/**
 * Store call latencies as a log-bucketed histogram: bucket i holds durations up to
 * MIN_US * GROWTH^i, so a percentile read from it is within 10 % of the true value from 10 µs to
 * over 10 s, in 150 numbers. Histograms of slices and of nodes merge by adding buckets.
 */
const MIN_US = 10;
const GROWTH = 1.1;
const BUCKETS = 150;
const LOG_GROWTH = Math.log(GROWTH);

/** Sparse buckets as sent between nodes: [bucket index, count] pairs. */
export type LatencyBuckets = [number, number][];

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;

  observe(seconds: number): void {
    const us = seconds * 1e6;
    const bucket = us <= MIN_US ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us / MIN_US) / LOG_GROWTH));
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    this.total++;
  }

  add(buckets: LatencyBuckets): void {
    for (const [bucket, count] of buckets) {
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKETS || !(count > 0)) continue;
      this.counts[bucket] = (this.counts[bucket] ?? 0) + count;
      this.total += count;
    }
  }

  get count(): number {
    return this.total;
  }

  /** The upper bound of the bucket holding the q-quantile, in ms; undefined when nothing was observed. */
  quantileMs(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket] ?? 0;
      if (seen >= rank) return (MIN_US * GROWTH ** bucket) / 1000;
    }
    return (MIN_US * GROWTH ** (BUCKETS - 1)) / 1000;
  }

  buckets(): LatencyBuckets {
    const sparse: LatencyBuckets = [];
    this.counts.forEach((count, bucket) => {
      if (count > 0) sparse.push([bucket, count]);
    });
    return sparse;
  }
}
