import type { CountBatch, HitterInfo } from './heavy-hitters.js';

/** Distinct keys a tally holds before it is folded early: bounds its memory whatever the flood. */
export const TALLY_KEYS = 1024;

/**
 * Denials counted exactly up to this many a second; above, about this many a second are counted
 * (each with probability 1/S and weight S, S a power of two set from the second before, doubled
 * within a second each time its denials pass twice what S was set for).
 */
export const SAMPLED_DENIALS_PER_SECOND = 8192;

/** Where a tally goes: the sketch of its second's slice. */
export type TallySink = (second: number, batch: CountBatch) => void;

/** 1, 2, 4, ...: the fewest samples a second that keep `denials` a second near the target. */
function samplingFor(denials: number): number {
  let every = 1;
  while (denials / every > SAMPLED_DENIALS_PER_SECOND) every *= 2;
  return every;
}

/** Denials until the next sampled one, each sampled with probability 1 / every (geometric). */
function skipFor(every: number, random: () => number): number {
  if (every === 1) return 1;
  return 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - 1 / every));
}

/**
 * Denial counts of the current second, per key, folded into the minute's Misra-Gries sketch once
 * a second (or at TALLY_KEYS distinct keys, or when a snapshot is read). A denial costs a
 * decrement and a comparison, and when it is counted a map lookup and a few typed-array stores:
 * no object, no string, no sketch work on the hot path. Exact up to SAMPLED_DENIALS_PER_SECOND
 * denials a second; a busier second is sampled (see docs/console.md for the error it adds). What
 * limited a key is kept as numbers (the latest counted denial's), so no Check outlives its decision.
 */
export class DeniedTally implements CountBatch {
  private second = -1;
  /** Denials met in this second, counted or not: the next second's sampling is set from it. */
  private met = 0;
  /** Each counted denial stands for this many (1 while exact). */
  private every = 1;
  private skip = 1;
  /** Denials met this second at which sampling halves again: a flood is sampled from its first second. */
  private escalateAt = 2 * SAMPLED_DENIALS_PER_SECOND;
  private readonly index = new Map<string, number>();
  private readonly items: string[] = [];
  private readonly algorithms: string[] = [];
  private readonly counts = new Float64Array(TALLY_KEYS);
  private readonly limits = new Float64Array(TALLY_KEYS);
  private readonly windows = new Float64Array(TALLY_KEYS);

  constructor(
    private readonly sink: TallySink,
    /** Uniform in [0, 1): tests pass a seeded one. */
    private readonly random: () => number = Math.random,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** One denial of `key` at `nowMs` (Unix ms). */
  add(nowMs: number, key: string, check: HitterInfo): void {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) this.enter(second);
    if (++this.met >= this.escalateAt) this.escalate();
    if (--this.skip > 0) return;
    this.skip = skipFor(this.every, this.random);
    if (this.items.length >= TALLY_KEYS) this.fold();
    let at = this.index.get(key);
    if (at === undefined) {
      at = this.items.length;
      this.index.set(key, at);
      this.items.push(key);
      this.algorithms.push(check.algorithm);
      this.counts[at] = this.every;
    } else {
      this.counts[at] = (this.counts[at] ?? 0) + this.every;
      this.algorithms[at] = check.algorithm;
    }
    this.limits[at] = check.limit;
    this.windows[at] = check.windowMs;
  }

  /** What is held, into the sink now (a snapshot is being read, or the tally is full). */
  fold(): void {
    if (this.items.length === 0) return;
    this.sink(this.second, this);
    this.index.clear();
    this.items.length = 0;
    this.algorithms.length = 0;
  }

  item(at: number): string {
    return this.items[at] ?? '';
  }

  count(at: number): number {
    return this.counts[at] ?? 0;
  }

  info(at: number): HitterInfo {
    return {
      algorithm: this.algorithms[at] ?? '',
      limit: this.limits[at] ?? 0,
      windowMs: this.windows[at] ?? 0,
    };
  }

  private enter(second: number): void {
    this.fold();
    // Only the second just before tells the rate; after a quiet gap, count exactly again.
    this.every = second === this.second + 1 ? samplingFor(this.met) : 1;
    this.skip = skipFor(this.every, this.random);
    this.escalateAt = 2 * SAMPLED_DENIALS_PER_SECOND * this.every;
    this.second = second;
    this.met = 0;
  }

  /** Twice the denials sampling was set for: count half as many from here (skip drawn afresh). */
  private escalate(): void {
    this.every *= 2;
    this.escalateAt *= 2;
    this.skip = skipFor(this.every, this.random);
  }
}
