import type { CheckRequest, RateLimiter } from '../../src/index.js';

/** One check as the traffic saw it. */
export interface CallRecord {
  key: string;
  startedAt: number;
  finishedAt: number;
  outcome: 'allowed' | 'denied' | 'error';
  error?: unknown;
}

/**
 * Closed-loop load for fault tests: `workers` loops, spread over the limiters, each sending one
 * check after another (no pacing, no sleeps) until stop(). Every call is recorded, so a test can
 * count errors and find when a fault began and ended from the callers' point of view.
 */
export class Traffic {
  readonly records: CallRecord[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    limiters: readonly RateLimiter[],
    workers: number,
    nextCheck: (worker: number) => CheckRequest,
  ) {
    this.loops = Array.from({ length: workers }, (_, worker) =>
      this.loop(limiters[worker % limiters.length], () => nextCheck(worker)),
    );
  }

  /** Stop every loop after its current call; resolves with all calls made. */
  async stop(): Promise<CallRecord[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.records;
  }

  private async loop(limiter: RateLimiter | undefined, nextCheck: () => CheckRequest): Promise<void> {
    if (!limiter) throw new Error('traffic needs at least one limiter');
    while (this.running) {
      const check = nextCheck();
      const startedAt = Date.now();
      try {
        const { allowed } = await limiter.check(check);
        this.records.push({
          key: check.key,
          startedAt,
          finishedAt: Date.now(),
          outcome: allowed ? 'allowed' : 'denied',
        });
      } catch (error) {
        this.records.push({ key: check.key, startedAt, finishedAt: Date.now(), outcome: 'error', error });
        // A failing store answers at once; yield so the loop does not starve the event loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}

/** Counts by outcome. */
export function tally(records: readonly CallRecord[]): Record<CallRecord['outcome'], number> {
  const counts = { allowed: 0, denied: 0, error: 0 };
  for (const record of records) counts[record.outcome] += 1;
  return counts;
}

/**
 * How long callers of the given keys saw the fault: from `faultAt` to the first success that
 * started after the last error (0 when nothing failed).
 */
export function recoveryMs(
  records: readonly CallRecord[],
  faultAt: number,
  keys: ReadonlySet<string>,
): number {
  const affected = records.filter((r) => keys.has(r.key) && r.finishedAt >= faultAt);
  const lastError = Math.max(...affected.filter((r) => r.outcome === 'error').map((r) => r.finishedAt));
  if (!Number.isFinite(lastError)) return 0;
  const firstSuccess = affected
    .filter((r) => r.outcome !== 'error' && r.startedAt >= lastError)
    .reduce((first, r) => Math.min(first, r.finishedAt), Number.POSITIVE_INFINITY);
  return firstSuccess - faultAt;
}
