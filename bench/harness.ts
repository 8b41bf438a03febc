/** A bounded closed-loop load: `inFlight` workers call `op` back to back until the time is up. */
export interface LoadResult {
  name: string;
  ops: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export async function closedLoop(
  name: string,
  op: (i: number) => Promise<unknown>,
  { inFlight = 200, durationMs = 3000, maxOps = 5_000_000 } = {},
): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline && issued < maxOps) {
      const i = issued++;
      const t0 = performance.now();
      try {
        await op(i);
      } catch {
        errors++;
      }
      // Sample every 16th latency: enough for percentiles, light on memory.
      if ((i & 15) === 0) latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { name, ops: issued, opsPerSecond: issued / elapsedS, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

export function printTable(title: string, rows: LoadResult[], baseline: LoadResult): void {
  console.log(`\n${title}`);
  console.log('| case | checks/s | vs baseline | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of [baseline, ...rows]) {
    const ratio =
      row === baseline ? '1.00 (baseline)' : (row.opsPerSecond / baseline.opsPerSecond).toFixed(2);
    console.log(
      `| ${row.name} | ${Math.round(row.opsPerSecond).toLocaleString('en-US')} | ${ratio} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.errors} |`,
    );
  }
}

/** The middle value: what a round-robin run reports, so that one disturbed round does not move it. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
