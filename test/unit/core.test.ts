import { describe, expect, it } from 'vitest';
import { parseWindow } from '../../src/index.js';
import { hashTagOf, counterKey } from '../../src/stores/redis/keys.js';
import { toDecision } from '../../src/core/types.js';

describe('parseWindow', () => {
  it.each([
    [1, 1000],
    [0.5, 500],
    [0.001, 1],
    [0.1, 100],
    [60, 60_000],
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['366d', 366 * 86_400_000],
  ])('reads %s as %i ms', (input, ms) => {
    expect(parseWindow(input)).toBe(ms);
  });

  it.each([
    0,
    -1,
    0.0005,
    1.0005,
    '0s',
    '367d',
    '10',
    '1 s',
    '1w',
    's',
    '',
    '-1s',
    '1e3s',
    null,
    {},
    Number.NaN,
  ])('refuses %s', (input) => {
    expect(() => parseWindow(input)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'window' }),
    );
  });
});

describe('Redis keys', () => {
  it('escapes only what would break the hash tag', () => {
    expect(hashTagOf('user:42')).toBe('user:42');
    expect(hashTagOf('{a}')).toBe('{a%7D');
    expect(hashTagOf('50%}')).toBe('50%25%7D');
  });

  it('maps distinct counters to distinct keys', () => {
    const keys = new Set<string>();
    for (const key of ['a', 'a}', 'a%7D', 'a%', 'a%25', '}a', 'a}:swl2:1000', 'a:swl2:1000']) {
      for (const windowMs of [1000, 10_000]) {
        const name = counterKey('ratelimit:', { key, windowMs, algorithm: 'sliding-window-log' });
        expect(keys.has(name), name).toBe(false);
        keys.add(name);
      }
    }
  });
});

describe('toDecision', () => {
  it('rounds waits up to whole milliseconds and never reports negative remaining', () => {
    expect(
      toDecision(
        { key: 'k', limit: 3, windowMs: 1000, cost: 1, algorithm: 'fixed-window' },
        { allowed: false, count: 5, retryAfterUs: 1001, resetAfterUs: 1 },
      ),
    ).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      count: 5,
      retryAfterMs: 2,
      resetAfterMs: 1,
      windowMs: 1000,
      algorithm: 'fixed-window',
    });
  });
});
