/** The console's "last minute": six whole slices of 10 s before the current one, so 60 to 70 s. */
export const SLICE_MS = 10_000;
export const SLICES_PER_MINUTE = 6;

/**
 * A value per 10-second slice over the last minute: `at(now)` is the slice being filled (made
 * fresh when its time comes round again), `minute(now)` every slice still within the minute.
 * Sketches and histograms merge, so a minute is the merge of its slices.
 */
export class MinuteWindow<T> {
  private readonly slices: { index: number; value: T }[] = [];
  private current: { index: number; value: T } | undefined;

  constructor(private readonly fresh: () => T) {}

  at(nowMs: number): T {
    const index = Math.floor(nowMs / SLICE_MS);
    const current = this.current;
    if (current?.index === index) return current.value;
    return this.enter(index).value;
  }

  /** The slices of the last minute, the current one included (oldest first). */
  minute(nowMs: number): T[] {
    const index = Math.floor(nowMs / SLICE_MS);
    return this.slices
      .filter((slice) => slice.index <= index && slice.index >= index - SLICES_PER_MINUTE)
      .map((slice) => slice.value);
  }

  private enter(index: number): { index: number; value: T } {
    const slice = { index, value: this.fresh() };
    this.slices.push(slice);
    // Keep one minute and the current slice: memory stays bounded whatever the traffic.
    while (this.slices.length > SLICES_PER_MINUTE + 1) this.slices.shift();
    this.current = slice;
    return slice;
  }
}
