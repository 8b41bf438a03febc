import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionRing, RING_SECONDS, mergeSeries, secondOf } from '../../../src/console/decision-ring.js';
import { DeniedTally } from '../../../src/console/denied-tally.js';
import { HeavyHitters } from '../../../src/console/heavy-hitters.js';
import { LatencyHistogram } from '../../../src/console/latency.js';
import { MinuteWindow, SLICE_MS } from '../../../src/console/minute-window.js';

const INFO = { algorithm: 'fixed-window', limit: 5, windowMs: 1000 };

function trueCounts(stream: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of stream) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Every reported count is at most N / (k + 1) short, never over, and every heavy item is held. */
function expectWithinBound(sketch: HeavyHitters, stream: readonly string[]): void {
  const truth = trueCounts(stream);
  const bound = stream.length / (sketch.k + 1);
  const summary = sketch.summary();
  expect(summary.maxUndercount).toBeLessThanOrEqual(bound + 1e-9);
  expect(summary.hitters.length).toBeLessThanOrEqual(sketch.k);
  const reported = new Map(summary.hitters.map(({ item, count }) => [item, count]));
  for (const [item, count] of truth) {
    const estimate = reported.get(item) ?? 0;
    expect(estimate).toBeLessThanOrEqual(count);
    expect(count - estimate).toBeLessThanOrEqual(summary.maxUndercount + 1e-9);
    if (count > bound) expect(reported.has(item)).toBe(true);
  }
}

// Skewed streams: a few heavy keys among many light ones, as a denial flood looks.
const streams = fc.array(
  fc
    .oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 4 }) },
      { weight: 2, arbitrary: fc.integer({ min: 5, max: 400 }) },
    )
    .map((n) => `key-${n}`),
  { maxLength: 3000 },
);

describe('HeavyHitters (Misra-Gries)', () => {
  it('under-counts by at most N / (k + 1) and holds every key above it', () => {
    fc.assert(
      fc.property(streams, fc.integer({ min: 1, max: 20 }), (stream, k) => {
        const sketch = new HeavyHitters(k);
        for (const item of stream) sketch.add(item, INFO);
        expectWithinBound(sketch, stream);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps the bound over the combined stream when summaries of parts are merged', () => {
    fc.assert(
      fc.property(
        fc.array(streams, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 16 }),
        (parts, k) => {
          const merged = new HeavyHitters(k);
          for (const part of parts) {
            const sketch = new HeavyHitters(k);
            for (const item of part) sketch.add(item, INFO);
            merged.merge(sketch.summary());
          }
          expectWithinBound(merged, parts.flat());
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps the bound when the stream arrives as per-second batches of exact counts (DeniedTally)', () => {
    fc.assert(
      fc.property(
        streams,
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 500 }),
        (stream, k, perSecond) => {
          const sketch = new HeavyHitters(k);
          const tally = new DeniedTally((_, batch) => {
            sketch.addBatch(batch);
          });
          stream.forEach((item, i) => {
            tally.add(1_700_000_000_000 + Math.floor(i / perSecond) * 1000, item, INFO);
          });
          tally.fold();
          expect(sketch.counted).toBe(stream.length);
          expectWithinBound(sketch, stream);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('holds at most 2k entries, whatever the number of distinct keys', () => {
    const sketch = new HeavyHitters(8);
    for (let i = 0; i < 10_000; i++) sketch.add(`distinct-${i}`, INFO);
    expect(sketch.size).toBeLessThanOrEqual(16);
    expect(sketch.counted).toBe(10_000);
  });

  it('remembers what limited a key, and only those fields', () => {
    const sketch = new HeavyHitters(4);
    sketch.add('k', { ...INFO, key: 'k', cost: 1 } as typeof INFO);
    sketch.add('k', { algorithm: 'token-bucket', limit: 9, windowMs: 60_000 });
    expect(sketch.top()).toEqual([
      { item: 'k', count: 2, algorithm: 'token-bucket', limit: 9, windowMs: 60_000 },
    ]);
  });

  it('refuses a k that is not a positive integer', () => {
    expect(() => new HeavyHitters(0)).toThrow(RangeError);
  });
});

describe('DecisionRing', () => {
  const t0 = 1_700_000_000_000;

  it('tallies allowed, denied and degraded per second', () => {
    const ring = new DecisionRing();
    ring.count(t0, true, false);
    ring.count(t0 + 10, false, false);
    ring.count(t0 + 999, true, true);
    ring.count(t0 + 1000, false, false);
    const series = ring.series(t0 + 1500);
    expect(series.allowed).toHaveLength(RING_SECONDS);
    expect(secondOf(series, 0)).toEqual({ allowed: 0, denied: 1, degraded: 0 });
    expect(secondOf(series, 1)).toEqual({ allowed: 2, denied: 1, degraded: 1 });
  });

  it('forgets seconds older than the ring, and reads seconds nobody counted as 0', () => {
    const ring = new DecisionRing();
    ring.count(t0, true, false);
    ring.count(t0 + RING_SECONDS * 1000, true, false);
    const series = ring.series(t0 + RING_SECONDS * 1000);
    expect(series.allowed.reduce((a, b) => a + b, 0)).toBe(1);
    expect(ring.series(t0 + 5 * RING_SECONDS * 1000).allowed.every((n) => n === 0)).toBe(true);
  });

  it('merges nodes second by second, aligning a series that ends earlier', () => {
    const a = new DecisionRing();
    const b = new DecisionRing();
    a.count(t0, true, false);
    b.count(t0, false, false);
    b.count(t0 + 1000, true, false);
    const merged = mergeSeries([a.series(t0), b.series(t0 + 1000)], Math.floor((t0 + 1000) / 1000));
    expect(secondOf(merged, 1)).toEqual({ allowed: 1, denied: 1, degraded: 0 });
    expect(secondOf(merged, 0)).toEqual({ allowed: 1, denied: 0, degraded: 0 });
  });
});

describe('LatencyHistogram', () => {
  it('reads percentiles within 10 % of the exact ones', () => {
    const histogram = new LatencyHistogram();
    const samples = Array.from({ length: 1000 }, (_, i) => 0.0001 + i * 0.00001); // 0.1 .. 10.1 ms
    for (const seconds of samples) histogram.observe(seconds);
    const exact = (q: number) => (samples[Math.ceil(q * samples.length) - 1] ?? 0) * 1000;
    for (const q of [0.5, 0.99]) {
      const read = histogram.quantileMs(q) ?? 0;
      expect(read).toBeGreaterThanOrEqual(exact(q));
      expect(read).toBeLessThanOrEqual(exact(q) * 1.1);
    }
  });

  it('merges by buckets and says nothing when empty', () => {
    expect(new LatencyHistogram().quantileMs(0.5)).toBeUndefined();
    const a = new LatencyHistogram();
    a.observe(0.001);
    const b = new LatencyHistogram();
    b.add(a.buckets());
    b.add([
      [-1, 5],
      [1e9, 5],
    ]);
    expect(b.count).toBe(1);
  });
});

describe('MinuteWindow', () => {
  it('holds the current slice and the six before it', () => {
    const window = new MinuteWindow(() => ({ n: 0 }));
    for (let slice = 0; slice < 10; slice++) window.at(slice * SLICE_MS).n = slice;
    expect(window.minute(9 * SLICE_MS).map(({ n }) => n)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(window.minute(20 * SLICE_MS)).toEqual([]);
  });
});
