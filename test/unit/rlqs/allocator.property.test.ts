import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignmentCost,
  burstFor,
  fairTargets,
  grantFor,
  hysteresisBand,
  quotaShape,
  strategyFor,
  shortfallOfOthers,
  wantFor,
} from '../../../src/core/quota-allocator.js';
import type { QuotaShape } from '../../../src/core/quota-allocator.js';
import { EnvoyTokenBucket } from '../../../support/envoy-token-bucket.js';

const UNITS = [1, 60, 3600, 86_400];
const shapes = fc
  .record({ limit: fc.integer({ min: 1, max: 100_000 }), unit: fc.constantFrom(...UNITS) })
  .map(({ limit, unit }) => ({ limit, unit, shape: quotaShape(limit, unit) }));

const wants = fc.uniqueArray(
  fc.record({ stream: fc.string({ minLength: 1, maxLength: 4 }), want: fc.integer({ min: 0, max: 5000 }) }),
  { selector: (entry) => entry.stream, maxLength: 40 },
);

/** The live shares of a quota's streams, after a sequence of reports granted one by one. */
function replay(shape: QuotaShape, reports: readonly { stream: number; demand: number | undefined }[]) {
  const held = new Map<number, number>();
  const want = new Map<number, number>();
  for (const { stream, demand } of reports) {
    want.set(stream, wantFor(demand, shape));
    const targets = fairTargets(
      shape.assignable,
      [...want].map(([id, value]) => ({ stream: String(id), want: value })),
    );
    let tokens = 0;
    let cost = 0;
    for (const [id, share] of held) {
      if (id === stream) continue;
      tokens += share;
      cost += assignmentCost(share, shape.boundWindowFills);
    }
    held.set(
      stream,
      grantFor(
        targets.get(String(stream)) ?? 0,
        held.get(stream) ?? 0,
        { tokens, cost },
        shape,
        shortfallOfOthers(
          targets,
          new Map([...held].map(([id, share]) => [String(id), share])),
          String(stream),
          shape,
        ),
      ),
    );
  }
  return { held, want };
}

const reportsOf = (streams: number) =>
  fc.array(
    fc.record({
      stream: fc.integer({ min: 0, max: streams - 1 }),
      demand: fc.option(fc.double({ min: 0, max: 1e7, noNaN: true }), { nil: undefined }),
    }),
    { maxLength: 120 },
  );

describe('the quota allocator', () => {
  it('shapes a quota into whole-second fill intervals holding exactly the limit', () => {
    fc.assert(
      fc.property(shapes, ({ limit, unit, shape }) => {
        expect(Number.isInteger(shape.fillIntervalS) && shape.fillIntervalS >= 1).toBe(true);
        expect(shape.capacity * unit).toBe(limit * shape.fillIntervalS);
        expect(shape.assignable).toBeGreaterThanOrEqual(1);
        expect(shape.assignable).toBeLessThanOrEqual(shape.capacity);
        // The budget is the bound: (1 + 2 %) of the window's limit, or one token for a tiny quota.
        const windowLimit = shape.capacity * shape.boundWindowFills;
        expect(
          shape.budget <= windowLimit * 1.02 || shape.budget === assignmentCost(1, shape.boundWindowFills),
        ).toBe(true);
      }),
    );
  });

  it('splits max-min fairly: within the total, never above a want, the unsatisfied level within one token', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), wants, (assignable, streams) => {
        const targets = fairTargets(assignable, streams);
        const total = [...targets.values()].reduce((sum, share) => sum + share, 0);
        expect(total).toBeLessThanOrEqual(assignable);
        const wanted = streams.reduce((sum, { want }) => sum + want, 0);
        expect(total).toBe(Math.min(assignable, wanted));
        const unsatisfied = streams.filter(({ stream, want }) => (targets.get(stream) ?? 0) < want);
        for (const { stream, want } of streams) {
          const share = targets.get(stream) ?? 0;
          expect(share).toBeLessThanOrEqual(want);
          for (const other of unsatisfied)
            expect(share).toBeLessThanOrEqual((targets.get(other.stream) ?? 0) + 1);
        }
      }),
    );
  });

  it('never lets the live assignments exceed the limit nor their costs the budget, whatever the reports', () => {
    fc.assert(
      fc.property(shapes, reportsOf(12), ({ shape }, reports) => {
        const { held } = replay(shape, reports);
        const shares = [...held.values()];
        expect(shares.reduce((sum, share) => sum + share, 0)).toBeLessThanOrEqual(shape.capacity);
        const cost = shares.reduce((sum, share) => sum + assignmentCost(share, shape.boundWindowFills), 0);
        expect(cost).toBeLessThanOrEqual(shape.budget);
      }),
    );
  });

  it('reaches the fair split within two rounds of reports once every demand is known to the store', () => {
    // One round makes each stream's new demand known; two more reach the split. Two rounds from the
    // shift are not enough when a stream's target falls because of a demand reported after it: it
    // gives its tokens back only at its next report, after a grower that reported before it (the
    // example below, found by a random seed on 2026-12-04). The seed is fixed so that a run is
    // reproducible; the claim held on 210,000 random runs of small quotas, where it fails soonest.
    const twoRoundsShort = [
      { shape: quotaShape(14, 1) },
      [{ stream: 2, demand: undefined }],
      [0, 2.0000000000000004, 5.000000000000001, 5e-324, 1.0000000000000002],
    ] as [{ shape: QuotaShape }, { stream: number; demand: number | undefined }[], number[]];
    fc.assert(
      fc.property(
        shapes,
        reportsOf(8),
        fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 8 }),
        ({ shape }, history, demands) => {
          const rounds = demands.map((demand, stream) => ({ stream, demand }));
          const seeded = history.filter(({ stream }) => stream < demands.length);
          const { held, want } = replay(shape, [...seeded, ...rounds, ...rounds, ...rounds]);
          const targets = fairTargets(
            shape.assignable,
            [...want].map(([id, value]) => ({ stream: String(id), want: value })),
          );
          const band = hysteresisBand(shape);
          for (const [stream, share] of held) {
            // Rounding the bursts up may leave the last stream granted a token or two short.
            expect(Math.abs(share - (targets.get(String(stream)) ?? 0))).toBeLessThanOrEqual(band + 2);
          }
        },
      ),
      { seed: 20_261_204, examples: [twoRoundsShort] },
    );
  });

  it('keeps a holding above its target only while it leaves room for the others short of theirs', () => {
    // Found by the fleet test: light proxies that kept an equal share, being within the band of their
    // lower target, left one heavy proxy short of the other for good.
    const shape = quotaShape(1000, 1);
    const demands = [1200, 1200, 100, 100, 100, 100, 100, 100];
    const rounds = demands.map((demand, stream) => ({ stream, demand }));
    // First all equal (121 tokens each), then the shift: the light ones' targets fall to 111.
    const equal = demands.map((_, stream) => ({ stream, demand: 110 }));
    const { held } = replay(shape, [...equal, ...equal, ...rounds, ...rounds, ...rounds]);
    expect([...held.values()].slice(2)).toEqual([111, 111, 111, 111, 111, 111]);
    expect(Math.abs((held.get(0) ?? 0) - (held.get(1) ?? 0))).toBeLessThanOrEqual(hysteresisBand(shape));
  });

  it('gives a light proxy its demand with headroom, and a new one (unknown demand) at most an equal share', () => {
    const shape = quotaShape(100, 1);
    expect(wantFor(5, shape)).toBe(6);
    expect(wantFor(0, shape)).toBe(1);
    expect(wantFor(1e12, shape)).toBe(shape.assignable);
    const targets = fairTargets(shape.assignable, [
      { stream: 'light', want: wantFor(5, shape) },
      { stream: 'new', want: wantFor(undefined, shape) },
      { stream: 'heavy', want: wantFor(300, shape) },
    ]);
    expect(targets.get('light')).toBe(6);
    expect(Math.abs((targets.get('new') ?? 0) - (targets.get('heavy') ?? 0))).toBeLessThanOrEqual(1);
  });

  it('hands Envoy token buckets with whole-second fill intervals, or a denial for no share', () => {
    fc.assert(
      fc.property(shapes, fc.integer({ min: 0, max: 100_000 }), ({ shape }, share) => {
        const strategy = strategyFor(share, shape);
        if (share === 0) expect(strategy).toEqual({ kind: 'blanket', rule: 'DENY_ALL' });
        else
          expect(strategy).toEqual({
            kind: 'token-bucket',
            maxTokens: burstFor(share),
            tokensPerFill: share,
            fillIntervalS: shape.fillIntervalS,
          });
      }),
    );
  });

  it("Envoy's buckets holding live assignments admit within the budget over any window of the bound", () => {
    // The bound of docs/rlqs.md, checked on Envoy's own arithmetic: buckets that start full, any
    // arrival pattern, every window of k fill intervals.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        reportsOf(6),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 200, maxLength: 400 }),
        (limit, reports, gapsMs) => {
          const shape = quotaShape(limit, 1);
          const { held } = replay(shape, reports);
          const buckets = [...held.values()]
            .filter((share) => share > 0)
            .map((share) => new EnvoyTokenBucket(burstFor(share), share, shape.fillIntervalS, 0));
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gapsMs) {
            now += gap;
            for (const bucket of buckets) while (bucket.consume(now)) admitted.push(now);
          }
          const windowMs = shape.boundWindowFills * shape.fillIntervalS * 1000;
          let first = 0;
          for (let last = 0; last < admitted.length; last++) {
            while ((admitted[last] as number) - (admitted[first] as number) >= windowMs) first++;
            expect(last - first + 1).toBeLessThanOrEqual(shape.budget);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
