import type { CheckRequest, RateLimiter } from '../../src/index.js';
import { pollUntil } from '../../support/admin.js';

/** One check as the traffic saw it. */
export interface CallRecord {
  worker: number;
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
      this.loop(worker, limiters[worker % limiters.length], () => nextCheck(worker)),
    );
  }

  /** Stop every loop after its current call; resolves with all calls made. */
  async stop(): Promise<CallRecord[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.records;
  }

  /** Resolves once `calls` more calls have been answered, so a fault meets traffic in flight. */
  async flowing(calls = 200): Promise<void> {
    const target = this.records.length + calls;
    await pollUntil('traffic flowing', () => (this.records.length >= target ? true : undefined), 5000);
  }

  /**
   * True once every worker has succeeded on a call started after `time`, and its latest call
   * succeeded too (a client moved once more just after a fault ends must have recovered again).
   */
  everyWorkerRecoveredSince(time: number): boolean {
    const latest = new Map<number, CallRecord>();
    const succeededSince = new Set<number>();
    for (const record of this.records) {
      latest.set(record.worker, record);
      if (record.startedAt > time && record.outcome !== 'error') succeededSince.add(record.worker);
    }
    const latestAllSucceeded = [...latest.values()].every((r) => r.outcome !== 'error');
    return succeededSince.size === this.loops.length && latestAllSucceeded;
  }

  private async loop(
    worker: number,
    limiter: RateLimiter | undefined,
    nextCheck: () => CheckRequest,
  ): Promise<void> {
    if (!limiter) throw new Error('traffic needs at least one limiter');
    while (this.running) {
      const check = nextCheck();
      const call = { worker, key: check.key, startedAt: Date.now() };
      try {
        const { allowed } = await limiter.check(check);
        this.records.push({ ...call, finishedAt: Date.now(), outcome: allowed ? 'allowed' : 'denied' });
      } catch (error) {
        this.records.push({ ...call, finishedAt: Date.now(), outcome: 'error', error });
        // A failing store answers at once; yield so the loop does not starve the event loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}

/** Traffic cycling over keys with a limit never reached: every call that fails is the fault's. */
export function trafficOverKeys(
  limiters: readonly RateLimiter[],
  workers: number,
  keys: readonly string[],
): Traffic {
  let next = 0;
  return new Traffic(limiters, workers, () => ({
    key: keys[next++ % keys.length] ?? '',
    limit: 100_000,
    window: 60,
  }));
}

/** Counts by outcome. */
export function tally(records: readonly CallRecord[]): Record<CallRecord['outcome'], number> {
  const counts = { allowed: 0, denied: 0, error: 0 };
  for (const record of records) counts[record.outcome] += 1;
  return counts;
}

/**
 * How long callers of the given keys saw the fault: from `faultAt` until every worker's first
 * success after its last error on those keys (0 when nothing failed; Infinity when a worker never
 * recovered).
 */
export function recoveryMs(
  records: readonly CallRecord[],
  faultAt: number,
  keys: ReadonlySet<string>,
): number {
  const affected = records.filter((r) => keys.has(r.key) && r.finishedAt >= faultAt);
  let recoveredAt = faultAt;
  for (const worker of new Set(affected.map((r) => r.worker))) {
    const own = affected.filter((r) => r.worker === worker);
    const lastError = Math.max(...own.filter((r) => r.outcome === 'error').map((r) => r.finishedAt));
    if (!Number.isFinite(lastError)) continue;
    const firstSuccess = own.find((r) => r.outcome !== 'error' && r.startedAt >= lastError);
    recoveredAt = Math.max(recoveredAt, firstSuccess?.finishedAt ?? Number.POSITIVE_INFINITY);
  }
  return recoveredAt - faultAt;
}

/** A fault as the callers saw it. */
export interface FaultReport {
  /** From the fault until `fault()` resolved (for a failover: until the replica was promoted). */
  faultMs: number;
  recoveryMs: number;
  calls: number;
  /** Calls that failed after the fault began. */
  failed: CallRecord[];
  /** Of those, calls that began after `fault()` resolved (the servers were whole again). */
  failedAfterFault: number;
}

/**
 * Inject a fault into running traffic and measure it from the callers' side: `fault` resolves
 * when the servers are whole again; traffic then runs until every worker has succeeded once more,
 * and stops.
 */
export async function measureFault(
  traffic: Traffic,
  fault: () => Promise<unknown>,
  affectedKeys: ReadonlySet<string>,
): Promise<FaultReport> {
  const faultAt = Date.now();
  await fault();
  const faultMs = Date.now() - faultAt;
  await pollUntil(
    'every worker answered again',
    () => traffic.everyWorkerRecoveredSince(faultAt + faultMs) || undefined,
    10_000,
  ).catch(async (error: unknown) => {
    // Stop the loops (they would spin on a closed store after the test), and say which workers
    // never came back and what they last saw.
    await traffic.stop();
    const last = new Map<number, CallRecord>();
    for (const record of traffic.records) last.set(record.worker, record);
    const stuck = [...last.values()].filter((r) => r.outcome === 'error');
    const seen = stuck.map(
      (r) => `worker ${r.worker}: ${r.error instanceof Error ? r.error.message : String(r.error)}`,
    );
    throw new Error(`${error instanceof Error ? error.message : String(error)}; ${seen.join('; ')}`, {
      cause: error,
    });
  });
  const records = await traffic.stop();
  return {
    faultMs,
    recoveryMs: recoveryMs(records, faultAt, affectedKeys),
    calls: records.length,
    failed: records.filter((r) => r.outcome === 'error' && r.finishedAt >= faultAt),
    failedAfterFault: records.filter((r) => r.outcome === 'error' && r.startedAt >= faultAt + faultMs).length,
  };
}
