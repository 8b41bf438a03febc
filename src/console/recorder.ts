import type { HitterInfo } from './heavy-hitters.js';
import { HeavyHitters } from './heavy-hitters.js';
import { DecisionRing } from './decision-ring.js';
import { DeniedTally } from './denied-tally.js';
import { LatencyHistogram } from './latency.js';
import { MinuteWindow } from './minute-window.js';

/**
 * Misra-Gries counters per 10-second slice: a key denied more than 1/65 of the minute's denials is
 * always listed, a listed count is at most that much short. A slice holds at most 2k = 128 keys,
 * so the minute (7 slices) at most 896 keys of at most 512 bytes: under 0.5 MB at worst.
 */
export const DENIED_KEYS_K = 64;

/**
 * What the console shows of this node, counted as decisions are made: per-second tallies,
 * denied keys, store latency and failures. Fed by MeteredLimiter (decisions) and the store's and
 * the failure policy's hooks; costs a comparison and an increment per decision, and per denial
 * a map update of the second's tally (src/console/denied-tally.ts), folded into the sketch once a
 * second. Keys are held here as they are (this process decides on them anyway) and
 * hashed only when they leave it (src/console/node-report.ts).
 */
export class ConsoleRecorder {
  readonly decisions = new DecisionRing();
  readonly deniedKeys = new MinuteWindow(() => new HeavyHitters(DENIED_KEYS_K));
  readonly storeLatency = new MinuteWindow(() => new LatencyHistogram());
  readonly storeErrors = new MinuteWindow(() => new Map<string, number>());
  private readonly denials = new DeniedTally((second, batch) => {
    this.deniedKeys.at(second * 1000).addBatch(batch);
  });
  /** Unix ms less performance.now(), re-read once a second: a decision costs no Date.now(). */
  private wallOffsetMs = 0;
  private resyncAtMs = -Infinity;

  /** One decision at `nowMs` (Unix ms); a denial also counts its key. `check` gives what limited it. */
  decided(nowMs: number, key: string, check: HitterInfo, allowed: boolean, degraded: boolean): void {
    this.decisions.count(nowMs, allowed, degraded);
    if (!allowed) this.denials.add(nowMs, key, check);
  }

  /** decided() at a time read from performance.now() (which the caller has read anyway). */
  decidedAt(
    performanceMs: number,
    key: string,
    check: HitterInfo,
    allowed: boolean,
    degraded: boolean,
  ): void {
    if (performanceMs >= this.resyncAtMs) {
      this.wallOffsetMs = Date.now() - performance.now();
      this.resyncAtMs = performanceMs + 1000;
    }
    this.decided(performanceMs + this.wallOffsetMs, key, check, allowed, degraded);
  }

  storeCall(nowMs: number, seconds: number): void {
    this.storeLatency.at(nowMs).observe(seconds);
  }

  storeFailure(nowMs: number, reason: string): void {
    const errors = this.storeErrors.at(nowMs);
    errors.set(reason, (errors.get(reason) ?? 0) + 1);
  }

  /** The denied keys of the last minute, merged over its slices. */
  deniedKeysOfMinute(nowMs: number): HeavyHitters {
    this.denials.fold();
    const minute = new HeavyHitters(DENIED_KEYS_K);
    for (const slice of this.deniedKeys.minute(nowMs)) minute.merge(slice.summary());
    return minute;
  }

  latencyOfMinute(nowMs: number): LatencyHistogram {
    const minute = new LatencyHistogram();
    for (const slice of this.storeLatency.minute(nowMs)) minute.add(slice.buckets());
    return minute;
  }

  errorsOfMinute(nowMs: number): Record<string, number> {
    const errors: Record<string, number> = {};
    for (const slice of this.storeErrors.minute(nowMs)) {
      for (const [reason, count] of slice) errors[reason] = (errors[reason] ?? 0) + count;
    }
    return errors;
  }
}
