/**
 * What the gRPC benches share: the rules file every bench service runs (one descriptor, a fixed
 * window of 1,000,000 per minute, so nothing is denied) and one ShouldRateLimit call over a pool
 * of channels, cycling 10,000 distinct values.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RlsClient } from '../support/rls-client.js';

/** Distinct descriptor values cycled through, so no counter grows large. */
const VALUES = 10_000;

export const BENCH_LIMIT = 1_000_000;

const RULES = `
domain: bench
descriptors:
  - key: client
    rate_limit:
      unit: minute
      requests_per_unit: ${BENCH_LIMIT}
`;

/** The bench rules in a temporary file; `remove` deletes it. */
export function writeBenchRules(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-bench-rules-'));
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, RULES);
  return {
    path,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Call i: ShouldRateLimit for value i on channel i, as a proxy sends it; rejects if not decided. */
export function shouldRateLimit(channels: readonly RlsClient[]): (i: number) => Promise<void> {
  return async (i) => {
    const answer = await (channels[i % channels.length] as RlsClient).shouldRateLimit({
      domain: 'bench',
      descriptors: [{ entries: [{ key: 'client', value: String(i % VALUES) }] }],
    });
    if (answer.overall_code !== 'OK' && answer.overall_code !== 'OVER_LIMIT') throw new Error('no decision');
  };
}
