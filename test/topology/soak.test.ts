import { describe, expect, it } from 'vitest';
import { runSoak } from '../../support/soak.js';

/** The short soak: the long one is `npm run soak` (bench/soak.ts), with the same checks. */
describe('soak: 3 service processes on one Redis under concurrent load', () => {
  it('admits exactly the maximum on hot keys, leaks nothing, and leaves no key behind', async () => {
    const report = await runSoak({
      services: 3,
      clients: 50,
      durationMs: 3000,
      coldKeys: 5000,
      hotLimit: 20,
    });
    expect(report.errors).toBe(0);
    // Enough traffic that every hot key is asked for well over its limit.
    expect(report.requests).toBeGreaterThan(6 * 20 * 2 * 3);
    for (const hot of report.hot) {
      if (hot.algorithm === 'fixed-window') {
        // A run that crosses a UTC midnight may fill two windows.
        expect(hot.admitted, hot.key).toBeGreaterThanOrEqual(20);
        expect(hot.admitted, hot.key).toBeLessThanOrEqual(hot.exactMaximum);
      } else {
        expect(hot.admitted, hot.key).toBe(hot.exactMaximum);
      }
    }
    report.rssEndMb.forEach((end, i) => {
      expect(end - (report.rssStartMb[i] ?? 0), `process ${i} RSS growth (MB)`).toBeLessThan(100);
    });
    expect(report.redisKeysAfterWindows).toBe(0);
  }, 60_000);
});
