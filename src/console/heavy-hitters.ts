/**
 * Misra-Gries frequent items, mergeable (Agarwal et al., "Mergeable summaries", 2012).
 *
 * With `k` counters kept, every item's count is under-estimated by at most N / (k + 1), N being
 * the total counted (here: the denials of the last minute), and never over-estimated; any item
 * counted more than N / (k + 1) times is held. The table holds up to 2k entries and, when full,
 * subtracts its (k+1)-th largest count from all (dropping those left at 0): at least k + 1
 * entries then lose that count each, so the sum of the amounts subtracted stays ≤ N / (k + 1)
 * and the bound holds, while the cost is amortized O(1) per item instead of O(k).
 * Merging two summaries (sum the counts, then reduce to k the same way) keeps the bound over
 * their combined N.
 */

/** What the console shows of a denied key besides its count: what limited it. */
export interface HitterInfo {
  algorithm: string;
  limit: number;
  windowMs: number;
}

export interface Hitter extends HitterInfo {
  item: string;
  count: number;
}

/** A summary as sent between nodes and merged. */
export interface HitterSummary {
  k: number;
  /** Units counted, whatever was dropped. */
  counted: number;
  /** The most any reported count is below the true one (≤ counted / (k + 1)). */
  maxUndercount: number;
  hitters: Hitter[];
}

/** Only the fields of HitterInfo: a caller may pass a larger object (a Check) it already has. */
function infoOf(info: HitterInfo): HitterInfo {
  return { algorithm: info.algorithm, limit: info.limit, windowMs: info.windowMs };
}

interface Entry {
  count: number;
  info: HitterInfo;
}

/** Exact counts of distinct items, added at once (src/console/denied-tally.ts). */
export interface CountBatch {
  readonly size: number;
  item(at: number): string;
  count(at: number): number;
  info(at: number): HitterInfo;
}

/**
 * The `rank`-th largest (0 = the largest) of values[0..n), by quickselect: O(n), no allocation.
 * Reorders those values.
 */
function nthLargest(values: Float64Array, n: number, rank: number): number {
  let low = 0;
  let high = n - 1;
  while (low < high) {
    const pivot = values[(low + high) >> 1] ?? 0;
    let i = low;
    let j = high;
    while (i <= j) {
      while ((values[i] ?? 0) > pivot) i++;
      while ((values[j] ?? 0) < pivot) j--;
      if (i <= j) {
        const swap = values[i] ?? 0;
        values[i++] = values[j] ?? 0;
        values[j--] = swap;
      }
    }
    if (rank <= j) high = j;
    else if (rank >= i) low = i;
    else return values[rank] ?? 0;
  }
  return values[rank] ?? 0;
}

export class HeavyHitters {
  private readonly entries = new Map<string, Entry>();
  /** Units subtracted so far: the most any count here is short of the truth. */
  private subtracted = 0;
  private total = 0;
  private scratch = new Float64Array(0);

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError('k must be an integer >= 1');
  }

  /** Count `units` for `item`; `info` is remembered as the latest that applied. */
  add(item: string, info: HitterInfo, units = 1): void {
    this.total += units;
    const entry = this.entries.get(item);
    if (entry) {
      entry.count += units;
      entry.info = info;
      return;
    }
    this.entries.set(item, { count: units, info });
    if (this.entries.size > 2 * this.k) this.reduce();
  }

  /**
   * Exact counts of distinct items at once, as a merge of an exact summary: summed in, then one
   * reduction for the whole batch if the table would pass 2k, so the bound is the one of add().
   */
  addBatch(batch: CountBatch): void {
    const pending: number[] = [];
    for (let at = 0; at < batch.size; at++) {
      const units = batch.count(at);
      this.total += units;
      const entry = this.entries.get(batch.item(at));
      if (entry) {
        entry.count += units;
        entry.info = batch.info(at);
      } else pending.push(at);
    }
    const held = this.entries.size + pending.length;
    let cut = 0;
    if (held > 2 * this.k) {
      const counts = this.scratchOf(held);
      let i = 0;
      for (const entry of this.entries.values()) counts[i++] = entry.count;
      for (const at of pending) counts[i++] = batch.count(at);
      cut = nthLargest(counts, held, this.k);
      this.subtract(cut);
    }
    for (const at of pending) {
      const count = batch.count(at) - cut;
      if (count > 0) this.entries.set(batch.item(at), { count, info: batch.info(at) });
    }
  }

  /** Another summary's items counted here too: the bound then covers both totals. */
  merge(other: HitterSummary): void {
    this.total += other.counted;
    this.subtracted += other.maxUndercount;
    for (const hitter of other.hitters) {
      const entry = this.entries.get(hitter.item);
      if (entry) entry.count += hitter.count;
      else this.entries.set(hitter.item, { count: hitter.count, info: infoOf(hitter) });
    }
    if (this.entries.size > this.k) this.reduce();
  }

  /** The summary as sent between nodes: reduced to at most k items (this table is left as it is). */
  summary(): HitterSummary {
    const cut = this.kPlusFirstCount();
    const hitters = this.top(2 * this.k + 1)
      .map((hitter) => ({ ...hitter, count: hitter.count - cut }))
      .filter(({ count }) => count > 0);
    return { k: this.k, counted: this.total, maxUndercount: this.subtracted + cut, hitters };
  }

  /** Items by count, largest first (ties by item, so the order is stable), at most `limit`. */
  top(limit = this.k): Hitter[] {
    return [...this.entries]
      .map(([item, { count, info }]) => ({ item, count, ...infoOf(info) }))
      .sort((a, b) => b.count - a.count || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0))
      .slice(0, limit);
  }

  /** Units counted, whatever was dropped. */
  get counted(): number {
    return this.total;
  }

  /** The most a reported count is below the true one: ≤ counted / (k + 1). */
  get maxUndercount(): number {
    return this.subtracted;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The (k+1)-th largest count, 0 when k or fewer are held. */
  private kPlusFirstCount(): number {
    const held = this.entries.size;
    if (held <= this.k) return 0;
    const counts = this.scratchOf(held);
    let i = 0;
    for (const entry of this.entries.values()) counts[i++] = entry.count;
    return nthLargest(counts, held, this.k);
  }

  private scratchOf(length: number): Float64Array {
    if (this.scratch.length < length)
      this.scratch = new Float64Array(Math.max(length, 2 * this.scratch.length));
    return this.scratch;
  }

  /** Subtract the (k+1)-th largest count from every entry; keep those still above 0. */
  private reduce(): void {
    this.subtract(this.kPlusFirstCount());
  }

  private subtract(cut: number): void {
    if (cut === 0) return;
    this.subtracted += cut;
    for (const [item, entry] of this.entries) {
      entry.count -= cut;
      if (entry.count <= 0) this.entries.delete(item);
    }
  }
}
