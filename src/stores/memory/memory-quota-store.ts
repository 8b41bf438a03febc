import {
  burstFor,
  fairTargets,
  grantAfterLoss,
  grantFor,
  shortfallOfOthers,
} from '../../core/quota-allocator.js';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/clock.js';
import type { QuotaGrant, QuotaHolding, QuotaReport, QuotaStore } from '../quota-store.js';

interface Holding {
  want: number;
  tokens: number;
  burst: number;
  expiresAtMs: number;
  demandPerSecond: number | undefined;
}

/** How many reports between sweeps of buckets nobody reports any more (bounded memory). */
const SWEEP_EVERY = 256;

/**
 * RLQS quota state in this process, for a single node: the twin of RedisQuotaStore and of
 * lua/quota-report.lua, deciding each report synchronously (so atomically) with the same
 * allocator functions.
 */
export class MemoryQuotaStore implements QuotaStore {
  private readonly buckets = new Map<string, Map<string, Holding>>();
  private reports = 0;

  constructor(private readonly clock: Clock = systemClock) {}

  private nowMs(): number {
    return Math.floor(this.clock.nowUs() / 1000);
  }

  /** The bucket's live holdings, the expired ones dropped. */
  private live(quotaKey: string, nowMs: number): Map<string, Holding> | undefined {
    const holdings = this.buckets.get(quotaKey);
    if (!holdings) return undefined;
    for (const [stream, holding] of holdings) if (holding.expiresAtMs <= nowMs) holdings.delete(stream);
    if (holdings.size === 0) this.buckets.delete(quotaKey);
    return holdings.size === 0 ? undefined : holdings;
  }

  report(report: QuotaReport): Promise<QuotaGrant> {
    const nowMs = this.nowMs();
    if (++this.reports % SWEEP_EVERY === 0) for (const key of [...this.buckets.keys()]) this.live(key, nowMs);
    const holdings = this.live(report.quotaKey, nowMs) ?? new Map<string, Holding>();
    const { shape, stream } = report;
    const others = { tokens: 0, cost: 0 };
    const wants = [{ stream, want: report.want }];
    for (const [id, holding] of holdings) {
      if (id === stream) continue;
      others.tokens += holding.tokens;
      others.cost += holding.tokens * shape.boundWindowFills + holding.burst;
      wants.push({ stream: id, want: holding.want });
    }
    const targets = fairTargets(shape.assignable, wants);
    const granted = grantFor(
      targets.get(stream) ?? 0,
      holdings.get(stream)?.tokens ?? 0,
      others,
      shape,
      shortfallOfOthers(
        targets,
        new Map([...holdings].map(([id, { tokens }]) => [id, tokens])),
        stream,
        shape,
      ),
    );
    const tokens = grantAfterLoss(granted, report.liveGrant, holdings.has(stream));
    const burst = burstFor(tokens);
    holdings.set(stream, {
      want: report.want,
      tokens,
      burst,
      expiresAtMs: nowMs + report.holdMs,
      demandPerSecond: report.demandPerSecond,
    });
    this.buckets.set(report.quotaKey, holdings);
    return Promise.resolve({ tokens, burst, streams: holdings.size, heldTokens: others.tokens + tokens });
  }

  release(quotaKey: string, stream: string): Promise<void> {
    const holdings = this.buckets.get(quotaKey);
    holdings?.delete(stream);
    if (holdings?.size === 0) this.buckets.delete(quotaKey);
    return Promise.resolve();
  }

  holdings(limit: number): Promise<Map<string, QuotaHolding[]>> {
    const nowMs = this.nowMs();
    const listing = new Map<string, QuotaHolding[]>();
    for (const quotaKey of [...this.buckets.keys()]) {
      if (listing.size >= limit) break;
      const holdings = this.live(quotaKey, nowMs);
      if (!holdings) continue;
      listing.set(
        quotaKey,
        [...holdings].map(([stream, holding]) => ({
          stream,
          want: holding.want,
          tokens: holding.tokens,
          burst: holding.burst,
          demandPerSecond: holding.demandPerSecond,
          expiresInMs: holding.expiresAtMs - nowMs,
        })),
      );
    }
    return Promise.resolve(listing);
  }
}
