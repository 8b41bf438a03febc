/**
 * Reports the first occurrence of a recurring problem at once, then at most once per interval
 * with the number of occurrences it held back, so an outage cannot flood the logs.
 */
export class ThrottledWarning<T> {
  private lastReportedAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly report: (latest: T, suppressed: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  note(occurrence: T): void {
    const at = this.now();
    if (at - this.lastReportedAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.report(occurrence, this.suppressed);
    this.lastReportedAt = at;
    this.suppressed = 0;
  }
}
