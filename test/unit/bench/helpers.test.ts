import { describe, expect, it } from 'vitest';
import { closedLoop } from '../../../bench/harness.js';
import { readKnobs } from '../../../bench/knobs.js';
import { costBetween, parseCommandStats, parseServerCpuUs } from '../../../bench/redis-stats.js';
import { formatSpread, median, pairedRatios, percentile, spread } from '../../../bench/stats.js';

describe('bench statistics', () => {
  it('takes the median, the spread and nearest-rank percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(spread([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5 });
    const sorted = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(500);
    expect(percentile(sorted, 0.99)).toBe(990);
    expect(percentile(sorted, 0.999)).toBe(999);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('pairs ratios round by round and prints a median with its range', () => {
    expect(pairedRatios([2, 6], [1, 3])).toEqual([2, 2]);
    expect(formatSpread(spread([1, 1.5, 2]))).toBe('1.50 (1.00 to 2.00)');
    expect(formatSpread(spread([0.5]))).toBe('0.50');
  });
});

describe('bench knobs', () => {
  it('defaults to every section and at least 3 rounds', () => {
    const knobs = readKnobs([], {});
    expect(knobs.sections).toEqual(['redis', 'memory', 'sweep', 'http', 'grpc', 'keys', 'accuracy']);
    expect(knobs.rounds).toBeGreaterThanOrEqual(3);
    expect(knobs.sweepLevels).toEqual([50, 200, 1000, 5000, 10_000]);
  });

  it('reads sections from BENCH_ONLY or the command line, which wins', () => {
    expect(readKnobs([], { BENCH_ONLY: 'redis, sweep' }).sections).toEqual(['redis', 'sweep']);
    expect(readKnobs(['http'], { BENCH_ONLY: 'redis' }).sections).toEqual(['http']);
  });

  it('refuses a bad value, naming the knob', () => {
    expect(() => readKnobs([], { BENCH_ROUNDS: 'three' })).toThrow(/BENCH_ROUNDS/);
    expect(() => readKnobs([], { BENCH_DURATION_MS: '10' })).toThrow(/BENCH_DURATION_MS/);
    expect(() => readKnobs([], { BENCH_SWEEP: '50,lots' })).toThrow(/BENCH_SWEEP/);
    expect(() => readKnobs([], { BENCH_ONLY: 'redis,gpu' })).toThrow(/BENCH_ONLY.*"gpu"/);
  });
});

describe('Redis INFO deltas', () => {
  const before = [
    '# Commandstats',
    'cmdstat_evalsha:calls=10,usec=100,usec_per_call=10.00,rejected_calls=0,failed_calls=0',
    'cmdstat_zadd:calls=10,usec=30,usec_per_call=3.00,rejected_calls=0,failed_calls=0',
    'cmdstat_info:calls=2,usec=50,usec_per_call=25.00,rejected_calls=0,failed_calls=0',
  ].join('\r\n');
  const after = [
    '# Commandstats',
    'cmdstat_evalsha:calls=110,usec=1300,usec_per_call=11.82,rejected_calls=0,failed_calls=0',
    'cmdstat_fcall:calls=5,usec=20,usec_per_call=4.00,rejected_calls=0,failed_calls=0',
    'cmdstat_zadd:calls=110,usec=330,usec_per_call=3.00,rejected_calls=0,failed_calls=0',
    'cmdstat_info:calls=4,usec=100,usec_per_call=25.00,rejected_calls=0,failed_calls=0',
  ].join('\r\n');

  it('sums only the entry commands: what a script runs is already in its time', () => {
    const cost = costBetween(
      { commands: parseCommandStats(before), cpuUs: 1_000_000 },
      { commands: parseCommandStats(after), cpuUs: 1_250_000 },
    );
    expect(cost).toEqual({ commands: ['evalsha', 'fcall'], calls: 105, usec: 1220, serverCpuUs: 250_000 });
  });

  it('reads the server CPU in µs', () => {
    expect(parseServerCpuUs('# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250001\r\n')).toBe(3_750_001);
  });
});

describe('closed loop', () => {
  it('stops at its call bound, counts admissions across workers and errors by code', async () => {
    const result = await closedLoop(
      async (i) => {
        await Promise.resolve();
        if (i % 10 === 9) throw Object.assign(new Error('no'), { code: 'overloaded' });
        return i % 2;
      },
      { inFlight: 7, durationMs: 60_000, maxOps: 1000 },
    );
    expect(result.answered).toBe(900);
    expect(result.admitted).toBe(400);
    expect(result.errors).toEqual(new Map([['overloaded', 100]]));
  });
});
