import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { assignmentCost, fairTargets, quotaShape, wantFor } from '../../src/core/quota-allocator.js';
import type { QuotaShape } from '../../src/core/quota-allocator.js';
import { MemoryQuotaStore } from '../../src/stores/memory/memory-quota-store.js';
import { quotaKeyOf } from '../../src/stores/quota-store.js';
import type { QuotaGrant, QuotaStore } from '../../src/stores/quota-store.js';

export interface QuotaStoreSubject {
  create(clock: ManualClock): QuotaStore | Promise<QuotaStore>;
  close?(store: QuotaStore): Promise<void>;
  reset?(): Promise<void>;
}

const SHAPE = quotaShape(100, 1); // 100 tokens per 1 s, 97 assignable, budget 1020 over 10 s
const KEY = quotaKeyOf('edge', new Map([['name', 'api']]));
const HOLD_MS = 16_000;

/**
 * One suite for every quota store (design: a semantic difference between stores is a bug). The
 * Redis store is driven by the same ManualClock, passed to its script in place of Redis TIME, so
 * the TypeScript and Lua twins of the allocator are checked on the same sequence of events.
 */
export function describeQuotaConformance(name: string, subject: QuotaStoreSubject): void {
  describe(`${name}: RLQS quota state`, () => {
    let clock: ManualClock;
    let store: QuotaStore;
    beforeEach(async () => {
      await subject.reset?.();
      clock = new ManualClock();
      store = await subject.create(clock);
    });
    afterEach(async () => {
      await subject.close?.(store);
    });

    const report = (stream: string, demand: number | undefined, shape: QuotaShape = SHAPE, quotaKey = KEY) =>
      store.report({
        quotaKey,
        stream,
        want: wantFor(demand, shape),
        demandPerSecond: demand,
        shape,
        holdMs: HOLD_MS,
      });

    it('answers a first report with an equal share of what is free, a denial when nothing is', async () => {
      expect(await report('a', undefined)).toEqual({ tokens: 97, burst: 49, streams: 1, heldTokens: 97 });
      // b is new: a holds everything until it reports again, so b gets nothing yet.
      expect((await report('b', undefined)).tokens).toBe(0);
      // a reports its demand: it gives back to its fair share; b takes the rest at its next report.
      expect((await report('a', 300)).tokens).toBe(49);
      expect(await report('b', 300)).toEqual({ tokens: 48, burst: 24, streams: 2, heldTokens: 97 });
    });

    it('gives a light stream its demand with headroom and the heavy ones the rest, evenly', async () => {
      for (const round of [1, 2]) {
        for (const [stream, demand] of [
          ['h1', 200],
          ['h2', 200],
          ['l1', 5],
          ['l2', 5],
        ] as const) {
          const grant = await report(stream, demand);
          if (round === 2)
            expect(grant.tokens, stream).toBe(stream.startsWith('l') ? 6 : 42 + Number(stream === 'h1'));
        }
      }
    });

    it('frees a closed stream at once, and a silent one at its hold time', async () => {
      await report('a', 300);
      await report('b', 300);
      await store.release(KEY, 'a');
      expect((await report('b', 300)).tokens).toBe(97);
      await report('c', 300);
      clock.advanceMs(HOLD_MS - 1);
      expect((await report('c', 300)).tokens).toBe(0);
      clock.advanceMs(1);
      expect(await report('c', 300)).toEqual({ tokens: 97, burst: 49, streams: 1, heldTokens: 97 });
    });

    it('grants a stream it has no record of at most what it holds live: the state was lost', async () => {
      const ask = {
        quotaKey: KEY,
        want: wantFor(300, SHAPE),
        demandPerSecond: 300,
        shape: SHAPE,
        holdMs: HOLD_MS,
      };
      // No record of a, which says it enforces 40 tokens: the others it lost still enforce theirs.
      expect((await store.report({ ...ask, stream: 'a', liveGrant: 40 })).tokens).toBe(40);
      // Recorded now: its fair share again.
      expect((await store.report({ ...ask, stream: 'a', liveGrant: 40 })).tokens).toBe(97);
    });

    it('keeps a holding within the hysteresis band (Envoy keeps its bucket)', async () => {
      await report('a', 40);
      await report('b', 300);
      const before = await report('a', 40);
      expect((await report('a', 40.5)).tokens).toBe(before.tokens);
    });

    it('keeps buckets apart, and lists the live ones', async () => {
      const other = quotaKeyOf('edge', new Map([['name', 'web']]));
      await report('a', 10);
      await report('a', 20, SHAPE, other);
      const listing = await store.holdings(10);
      expect([...listing.keys()].sort()).toEqual([KEY, other].sort());
      expect(listing.get(other)).toEqual([
        { stream: 'a', want: 22, tokens: 22, burst: 11, demandPerSecond: 20, expiresInMs: HOLD_MS },
      ]);
      clock.advanceMs(HOLD_MS);
      expect((await store.holdings(10)).size).toBe(0);
    });

    it('decides every sequence of reports as the in-memory twin does, within the limit and the budget', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              stream: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
              demand: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
              advanceMs: fc.constantFrom(0, 500, 5000, 20_000),
              release: fc.boolean(),
            }),
            { maxLength: 30 },
          ),
          fc.constantFrom(quotaShape(100, 1), quotaShape(6000, 60), quotaShape(7, 3600)),
          async (events, shape) => {
            await subject.reset?.();
            const quotaKey = quotaKeyOf('p', new Map([['run', String(Math.random())]]));
            const twinClock = new ManualClock();
            const twin = new MemoryQuotaStore(twinClock);
            for (const { stream, demand, advanceMs, release } of events) {
              clock.advanceMs(advanceMs);
              twinClock.advanceMs(advanceMs);
              if (release) {
                await store.release(quotaKey, stream);
                await twin.release(quotaKey, stream);
                continue;
              }
              const ask = {
                quotaKey,
                stream,
                want: wantFor(demand, shape),
                demandPerSecond: demand,
                shape,
                holdMs: HOLD_MS,
              };
              const [got, expected]: QuotaGrant[] = [await store.report(ask), await twin.report(ask)];
              expect(got).toEqual(expected);
              const live = (await store.holdings(100)).get(quotaKey) ?? [];
              expect(live.reduce((sum, { tokens }) => sum + tokens, 0)).toBeLessThanOrEqual(shape.capacity);
              const cost = live.reduce(
                (sum, { tokens }) => sum + assignmentCost(tokens, shape.boundWindowFills),
                0,
              );
              expect(cost).toBeLessThanOrEqual(shape.budget);
              const targets = fairTargets(shape.assignable, live);
              for (const holding of live)
                expect(holding.tokens).toBeLessThanOrEqual(
                  Math.max(targets.get(holding.stream) ?? 0, holding.tokens),
                );
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}
