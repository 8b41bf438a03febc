import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/index.js';
import { MAX_UNITS } from '../../src/core/validate.js';
import { chunkChecks } from '../../src/stores/remote/batches.js';

function check(overrides: Partial<Check> = {}): Check {
  return {
    key: 'k',
    limit: 10_000,
    windowMs: 1000,
    cost: 1,
    algorithm: 'sliding-window-log',
    ...overrides,
  };
}

describe('chunkChecks: calls the service accepts', () => {
  it('at most 100 checks per call, in order', () => {
    const items = Array.from({ length: 250 }, (_, i) => check({ key: `k${i}` }));
    const chunks = chunkChecks(items);
    expect(chunks.map((chunk) => chunk.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(items);
  });

  it('per algorithm, costs within the per-batch maximum', () => {
    const big = { cost: Math.ceil(MAX_UNITS * 0.6), limit: MAX_UNITS };
    const items = [check(big), check(big), check({ ...big, algorithm: 'token-bucket' })];
    expect(chunkChecks(items).map((chunk) => chunk.length)).toEqual([1, 2]);
  });

  it('a body under the 64 KiB limit, counting JSON escapes', () => {
    const escaped = '\u0001'.repeat(512);
    const items = Array.from({ length: 40 }, () => check({ key: escaped }));
    const chunks = chunkChecks(items);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(JSON.stringify({ checks: chunk }).length).toBeLessThan(64 * 1024);
    }
  });

  it('nothing in, nothing out', () => {
    expect(chunkChecks([])).toEqual([]);
  });
});
