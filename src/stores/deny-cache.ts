import type { Check, Outcome } from '../core/types.js';

interface Denial {
  limit: number;
  cost: number;
  /** µs on the cache's clock until which the same or a larger cost is denied. */
  untilUs: number;
  /** µs on the cache's clock at which the counter held nothing more, as of the denial. */
  resetAtUs: number;
  count: number;
}

/**
 * Denials remembered on this node: a counter that denied cost C under limit L until T denies
 * cost C under L until T, whatever else happens meanwhile, because traffic only adds to a
 * counter (more units, more debt) and time alone is what lets it admit again. So such a check
 * is answered here without a store call. (A larger cost is denied too, but until later than T:
 * its exact retryAfterMs is the store's to say.) Only a refund or a reset can make it admit sooner: the
 * store drops the entry for those, here and (through its invalidation channel) on every node.
 *
 * The decision and `retryAfterMs` are exact; `count`, `remaining` and `resetAfterMs` are those of
 * the denial being repeated (other nodes may have spent more since, or units may have left).
 * Times are taken when the denial's call was sent, before Redis ran it, so T is never later than
 * the store's own.
 */
export class DenyCache {
  private readonly denials = new Map<string, Denial>();
  private hits = 0;
  /** Bumped by every invalidation: a denial decided before one may predate a reset. */
  private generation = 0;
  private disabled = false;

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be an integer >= 1');
  }

  /** The repeated denial for `check` at `nowUs`, or undefined when the store must decide. */
  lookup(id: string, check: Check, nowUs: number): Outcome | undefined {
    const denial = this.denials.get(id);
    if (!denial) return undefined;
    if (nowUs >= denial.untilUs) {
      this.denials.delete(id);
      return undefined;
    }
    if (check.limit !== denial.limit || check.cost !== denial.cost) return undefined;
    this.hits++;
    return {
      allowed: false,
      count: denial.count,
      retryAfterUs: denial.untilUs - nowUs,
      resetAfterUs: Math.max(0, denial.resetAtUs - nowUs),
    };
  }

  /** What to hand back to remember(): the invalidations seen when a call is sent. */
  get mark(): number {
    return this.generation;
  }

  /**
   * Remember a denial the store gave for a call sent at `sentAtUs`, unless a reset or refund came
   * in since `mark` (the denial may have been decided before it).
   */
  remember(id: string, check: Check, outcome: Outcome, sentAtUs: number, mark: number): void {
    if (outcome.allowed || check.cost === 0 || outcome.retryAfterUs <= 0 || mark !== this.generation) return;
    if (this.disabled) return;
    if (!this.denials.has(id) && this.denials.size >= this.maxEntries) {
      // The oldest entry goes first (Map keeps insertion order); it is the likeliest to have lapsed.
      const oldest = this.denials.keys().next().value;
      if (oldest !== undefined) this.denials.delete(oldest);
    }
    this.denials.delete(id);
    this.denials.set(id, {
      limit: check.limit,
      cost: check.cost,
      untilUs: sentAtUs + outcome.retryAfterUs,
      resetAtUs: sentAtUs + outcome.resetAfterUs,
      count: outcome.count,
    });
  }

  forget(id: string): void {
    this.generation++;
    this.denials.delete(id);
  }

  clear(): void {
    this.generation++;
    this.denials.clear();
    this.disabled = false;
  }

  /** Remember nothing until the next clear(): invalidations cannot reach this node. */
  disable(): void {
    this.generation++;
    this.denials.clear();
    this.disabled = true;
  }

  stats(): { entries: number; hits: number } {
    return { entries: this.denials.size, hits: this.hits };
  }
}
