import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, OverloadedError, StoreUnavailableError } from '../../src/core/errors.js';
import type { Decision } from '../../src/core/types.js';
import {
  MAX_UNITS,
  parseCheck,
  parseChecks,
  parseCounter,
  parsePeek,
  parseRefund,
  unaffordable,
} from '../../src/core/validate.js';
import { checkToWire, decisionFromWire, toWireDecision } from '../../src/protocol/decision.js';
import { bodyOf, errorBody, errorFromReply, statusOf } from '../../src/protocol/errors.js';
import {
  QUOTA_EXCEEDED_TYPE,
  effectiveWindowSeconds,
  policiesOf,
  quotaExceededProblem,
  rateLimitHeaders,
} from '../../src/protocol/headers.js';
import { counterPath } from '../../src/protocol/routes.js';

function decision(overrides: Partial<Decision> = {}): Decision {
  return {
    allowed: true,
    limit: 10,
    remaining: 6,
    count: 4,
    retryAfterMs: 0,
    resetAfterMs: 42_500,
    windowMs: 60_000,
    algorithm: 'sliding-window-log',
    ...overrides,
  };
}

describe('parse once: what callers write, validated into checks', () => {
  it('a check: defaults, the window in ms, the algorithm named', () => {
    expect(parseCheck({ key: 'k', limit: 3, window: '1.5s' })).toEqual({
      key: 'k',
      limit: 3,
      windowMs: 1500,
      cost: 1,
      algorithm: 'sliding-window-log',
    });
    expect(parsePeek({ key: 'k', limit: 3, window: 1, cost: 2 }).cost).toBe(0);
    expect(parseCounter({ key: 'k', window: '1m', algorithm: 'fixed-window' })).toEqual({
      key: 'k',
      windowMs: 60_000,
      algorithm: 'fixed-window',
    });
  });

  it('names the field as the caller wrote it, with its index in a batch', () => {
    const refused = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error as InvalidArgumentError;
      }
      throw new Error('not refused');
    };
    expect(refused(() => parseCheck({ key: 'k', limit: -1, window: 1 }))).toMatchObject({
      field: 'limit',
      message: 'limit must be an integer >= 0',
    });
    const good = { key: 'k', limit: 5, window: 1 };
    const batch = [good, good, good, { ...good, cost: 6 }];
    expect(refused(() => parseChecks(batch))).toMatchObject({
      field: 'checks[3].cost',
      message: 'checks[3].cost (6) must not exceed checks[3].limit (5): it could never be admitted',
    });
    expect(refused(() => parseChecks([good, { ...good, window: '1y' }]))).toMatchObject({
      field: 'checks[1].window',
    });
    expect(refused(() => parseChecks([good, 7]))).toMatchObject({ field: 'checks[1]' });
    expect(refused(() => parseCheck(null))).toMatchObject({ field: 'check' });
    expect(refused(() => parseCheck({ ...good, limit: MAX_UNITS + 1 }))).toMatchObject({ field: 'limit' });
    const costly = { key: 'k', limit: MAX_UNITS, window: 1, cost: MAX_UNITS };
    expect(refused(() => parseChecks([costly, costly]))).toMatchObject({ field: 'checks' });
  });

  it('a refund above the limit gives back at most the limit instead of being refused', () => {
    expect(parseRefund({ key: 'k', limit: 5, window: 1, cost: 8 }).cost).toBe(5);
    expect(parseRefund({ key: 'k', limit: 5, window: 1 }).cost).toBe(1);
    expect(() => parseRefund({ key: 'k', limit: 5, window: 1, cost: -1 })).toThrow(/cost/);
  });

  it('one unaffordable decision: denied, nothing spent, nothing left for that cost', () => {
    expect(unaffordable({ limit: 3, windowMs: 10_000, algorithm: 'fixed-window' })).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      count: 0,
      retryAfterMs: 10_000,
      resetAfterMs: 0,
      windowMs: 10_000,
      algorithm: 'fixed-window',
    });
  });
});

describe('the wire contract', () => {
  it('a decision and a check as the service sends and takes them', () => {
    const wire = toWireDecision(decision({ degraded: true }));
    expect(wire).toEqual({
      allowed: true,
      limit: 10,
      remaining: 6,
      count: 4,
      retryAfterMs: 0,
      resetAfterMs: 42_500,
      degraded: true,
    });
    expect(decisionFromWire(JSON.parse(JSON.stringify(wire)))).toEqual(wire);
    expect(decisionFromWire({ allowed: true, limit: 1 })).toBeUndefined();
    expect(decisionFromWire({ ...wire, count: -1 })).toBeUndefined();
    expect(checkToWire(parseCheck({ key: 'k', limit: 2, window: 0.25 }))).toMatchObject({ window: '250ms' });
    expect(counterPath('a/b c')).toBe('/v1/counters/a%2Fb%20c');
  });

  it('one error body and status for every error, and back again on the client side', () => {
    const invalid = new InvalidArgumentError('checks[2].cost', 'too much');
    expect([statusOf(invalid), bodyOf(invalid)]).toEqual([
      400,
      { error: { code: 'invalid_argument', message: 'too much', field: 'checks[2].cost' } },
    ]);
    const down = new StoreUnavailableError('no', { reason: 'oom' });
    expect([statusOf(down), bodyOf(down)]).toEqual([
      503,
      { error: { code: 'store_unavailable', message: 'no', reason: 'oom' } },
    ]);
    expect(errorBody('x', 'm'.repeat(400)).error.message).toHaveLength(301);
    const origin = 'http://svc:1';
    expect(errorFromReply({ status: 400, body: bodyOf(invalid) }, origin)).toMatchObject({
      code: 'invalid_argument',
      field: 'checks[2].cost',
    });
    const shed = errorFromReply(
      { status: 503, body: errorBody('overloaded', 'busy'), retryAfterS: 2 },
      origin,
    );
    expect(shed).toBeInstanceOf(OverloadedError);
    expect(shed).toMatchObject({ retryAfterMs: 2000 });
    expect(errorFromReply({ status: 503, body: bodyOf(down) }, origin)).toMatchObject({
      code: 'store_unavailable',
      reason: 'oom',
    });
    const refused = errorFromReply({ status: 401, body: errorBody('unauthorized', 'no token') }, origin);
    expect(refused).not.toBeInstanceOf(StoreUnavailableError);
    expect(refused.message).toContain('401 unauthorized');
  });
});

describe('RateLimit headers', () => {
  it('draft-11 (default): t is the effective window within which no more than r may be used', () => {
    const denied = decision({ allowed: false, remaining: 0, retryAfterMs: 1_200, resetAfterMs: 59_000 });
    expect(rateLimitHeaders(policiesOf([denied]))).toEqual([
      ['RateLimit-Policy', '"default";q=10;w=60'],
      ['RateLimit', '"default";r=0;t=2'],
      ['Retry-After', '2'],
    ]);
    // draft-10: t is when the counter is empty again.
    expect(rateLimitHeaders(policiesOf([denied]), 'draft-10')[1]).toEqual([
      'RateLimit',
      '"default";r=0;t=59',
    ]);
    const [allowed] = policiesOf([decision()]);
    const [empty] = policiesOf([decision({ remaining: 10, count: 0, resetAfterMs: 0 })]);
    if (!allowed || !empty) throw new Error('no policy');
    expect(effectiveWindowSeconds(allowed)).toBe(43);
    expect(effectiveWindowSeconds(empty)).toBe(60);
  });

  it('names a batch by position, marks degraded, and a concurrency quota by its unit', () => {
    const headers = rateLimitHeaders([
      ...policiesOf([decision(), decision({ degraded: true })]),
      {
        name: 'inflight',
        windowMs: undefined,
        quotaUnit: 'concurrent-requests',
        decision: decision({ limit: 5, remaining: 2 }),
      },
    ]);
    expect(headers).toEqual([
      [
        'RateLimit-Policy',
        '"check-0";q=10;w=60, "check-1";q=10;w=60, "inflight";q=5;qu="concurrent-requests"',
      ],
      ['RateLimit', '"check-0";r=6;t=43, "check-1";r=6;t=43, "inflight";r=2;t=43'],
      ['RateLimiter-Degraded', 'true'],
    ]);
  });

  it('an RFC 9457 problem names only the policies that refused', () => {
    const policies = policiesOf(
      [
        decision({ allowed: false, remaining: 3, retryAfterMs: 0 }),
        decision({ allowed: false, remaining: 0, retryAfterMs: 4_100 }),
      ],
      ['per-second', 'per-hour'],
    );
    expect(quotaExceededProblem(policies, 429)).toEqual({
      type: QUOTA_EXCEEDED_TYPE,
      title: 'Request cannot be satisfied as assigned quota has been exceeded',
      status: 429,
      detail: 'too many requests: retry in 5 s',
      'violated-policies': ['per-hour'],
    });
  });
});
