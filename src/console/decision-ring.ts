/** Seconds of per-second tallies each node keeps: the console's 15-minute chart. */
export const RING_SECONDS = 900;

/** One second's decisions on one node (or summed over nodes). */
export interface SecondTally {
  allowed: number;
  denied: number;
  degraded: number;
}

/** A ring as sent between nodes: tallies of consecutive seconds ending at `endSecond` (Unix s). */
export interface TallySeries {
  /** The newest second the series holds, in whole seconds since the Unix epoch. */
  endSecond: number;
  /** Oldest first; one entry per second, `RING_SECONDS` of them (zeros where nothing happened). */
  allowed: number[];
  denied: number[];
  degraded: number[];
}

/**
 * Per-second tallies of the last RING_SECONDS seconds, in three typed arrays indexed by the second
 * modulo the ring's length. Counting is one comparison and one increment: the hot path never
 * allocates. A slot is stamped with the second it holds, so a second nobody counted reads 0.
 */
export class DecisionRing {
  private readonly allowed = new Float64Array(RING_SECONDS);
  private readonly denied = new Float64Array(RING_SECONDS);
  private readonly degraded = new Float64Array(RING_SECONDS);
  private readonly stamp = new Float64Array(RING_SECONDS).fill(-1);
  private currentSecond = -1;
  private slot = 0;

  /** Count one decision made at `nowMs` (Unix ms). */
  count(nowMs: number, allowed: boolean, degraded: boolean): void {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.currentSecond) this.enter(second);
    const slot = this.slot;
    if (allowed) this.allowed[slot] = (this.allowed[slot] ?? 0) + 1;
    else this.denied[slot] = (this.denied[slot] ?? 0) + 1;
    if (degraded) this.degraded[slot] = (this.degraded[slot] ?? 0) + 1;
  }

  /** The last RING_SECONDS seconds ending at `nowMs`'s second, oldest first. */
  series(nowMs: number): TallySeries {
    const endSecond = Math.floor(nowMs / 1000);
    const series: TallySeries = { endSecond, allowed: [], denied: [], degraded: [] };
    for (let second = endSecond - RING_SECONDS + 1; second <= endSecond; second++) {
      const slot = second % RING_SECONDS;
      const held = this.stamp[slot] === second;
      series.allowed.push(held ? (this.allowed[slot] ?? 0) : 0);
      series.denied.push(held ? (this.denied[slot] ?? 0) : 0);
      series.degraded.push(held ? (this.degraded[slot] ?? 0) : 0);
    }
    return series;
  }

  private enter(second: number): void {
    this.currentSecond = second;
    this.slot = second % RING_SECONDS;
    if (this.stamp[this.slot] !== second) {
      this.stamp[this.slot] = second;
      this.allowed[this.slot] = 0;
      this.denied[this.slot] = 0;
      this.degraded[this.slot] = 0;
    }
  }
}

/**
 * Several nodes' series summed second by second, aligned on the newest `endSecond` (node clocks
 * differ by milliseconds, not seconds; a series that ends earlier is shifted, its missing seconds 0).
 */
export function mergeSeries(all: readonly TallySeries[], endSecond: number): TallySeries {
  const merged: TallySeries = {
    endSecond,
    allowed: new Array<number>(RING_SECONDS).fill(0),
    denied: new Array<number>(RING_SECONDS).fill(0),
    degraded: new Array<number>(RING_SECONDS).fill(0),
  };
  for (const series of all) {
    const shift = endSecond - series.endSecond;
    for (const field of ['allowed', 'denied', 'degraded'] as const) {
      const from = series[field];
      const into = merged[field];
      for (let i = 0; i < from.length; i++) {
        const at = i - shift + (RING_SECONDS - from.length);
        if (at >= 0 && at < RING_SECONDS) into[at] = (into[at] ?? 0) + (from[i] ?? 0);
      }
    }
  }
  return merged;
}

/** The tally of one second of a series, counted from its end (0 = the newest second). */
export function secondOf(series: TallySeries, secondsAgo: number): SecondTally {
  const at = series.allowed.length - 1 - secondsAgo;
  return {
    allowed: series.allowed[at] ?? 0,
    denied: series.denied[at] ?? 0,
    degraded: series.degraded[at] ?? 0,
  };
}
