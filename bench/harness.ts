/**
 * Bounded load: a closed loop (`inFlight` workers calling back to back until the time or the
 * count is spent) and a burst (`count` calls issued at once). Each call answers how many checks
 * it admitted; a rejection is an error, counted by its code.
 */
import { percentile } from './stats.js';

/** One call of the subject: resolves to the number of checks admitted, rejects on an error. */
export type Operation = (i: number) => Promise<number>;

export interface LoadResult {
  /** Calls answered, admitted or not (errors excluded). */
  answered: number;
  admitted: number;
  errors: Map<string, number>;
  elapsedMs: number;
  /** Node CPU (user + system) of this process over the run, in µs. */
  cpuUs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface ClosedLoopOptions {
  inFlight: number;
  durationMs: number;
  /** Upper bound on calls, whatever the time: the loop never runs unbounded. */
  maxOps?: number;
}

/** `code` of a typed error (ours: `store_unavailable`, `overloaded`, ...), else its class name. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return error instanceof Error ? error.name : typeof error;
}

/** The first message of each error code met in this run, printed at its end to tell errors apart. */
export const firstErrorMessages = new Map<string, string>();

class Tally {
  answered = 0;
  admitted = 0;
  readonly errors = new Map<string, number>();
  readonly latencies: number[] = [];

  /** One call, counted as answered (with what it admitted) or as an error by its code. */
  async call(op: Operation, i: number): Promise<void> {
    try {
      // Awaited first: `this.admitted += await op(i)` would read the total before the await and
      // lose every increment made by the other workers meanwhile.
      const admitted = await op(i);
      this.admitted += admitted;
      this.answered++;
    } catch (error) {
      const code = errorCode(error);
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
      if (!firstErrorMessages.has(code)) {
        firstErrorMessages.set(code, error instanceof Error ? error.message : String(error));
      }
    }
  }

  result(startedAt: number, cpuStart: NodeJS.CpuUsage): LoadResult {
    const cpu = process.cpuUsage(cpuStart);
    const sorted = this.latencies.sort((a, b) => a - b);
    return {
      answered: this.answered,
      admitted: this.admitted,
      errors: this.errors,
      elapsedMs: performance.now() - startedAt,
      cpuUs: cpu.user + cpu.system,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      p999Ms: percentile(sorted, 0.999),
    };
  }
}

export async function closedLoop(
  op: Operation,
  { inFlight, durationMs, maxOps = 10_000_000 }: ClosedLoopOptions,
): Promise<LoadResult> {
  const tally = new Tally();
  let issued = 0;
  let stopped = false;
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  const deadline = startedAt + durationMs;
  const worker = async () => {
    while (!stopped) {
      const i = issued++;
      // The clock is read every 64th call only: an in-memory check costs about a microsecond.
      if (i >= maxOps || ((i & 63) === 0 && performance.now() >= deadline)) {
        stopped = true;
        break;
      }
      // Every 16th latency is kept: enough for the percentiles, light on time and memory.
      const sampled = (i & 15) === 0;
      const t0 = sampled ? performance.now() : 0;
      await tally.call(op, i);
      if (sampled) tally.latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return tally.result(startedAt, cpuStart);
}

/** `count` calls issued in one go, every latency kept. */
export async function burst(op: Operation, count: number): Promise<LoadResult> {
  const tally = new Tally();
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      await tally.call(op, i);
      tally.latencies.push(performance.now() - startedAt);
    }),
  );
  return tally.result(startedAt, cpuStart);
}

export { median } from './stats.js';

/** Calls answered per second over a run. */
export function answeredPerSecond(result: LoadResult): number {
  return result.answered / (result.elapsedMs / 1000);
}

/** Errors of a run, whatever their codes. */
export function errorCount(result: LoadResult): number {
  return [...result.errors.values()].reduce((total, count) => total + count, 0);
}

/** A call whose answer is not a count of admissions, counted as one answer. */
export function answering(call: (i: number) => Promise<unknown>): Operation {
  return async (i) => {
    await call(i);
    return 1;
  };
}
