import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RateLimiter, StoreUnavailableError } from '../../src/index.js';
import type { CheckRequest } from '../../src/index.js';
import type { Conformance } from './context.js';
import { freshKey } from './context.js';

export function describeValidation(t: Conformance): void {
  describe('validation and lifecycle', () => {
    const invalid: [string, unknown, string][] = [
      ['empty key', { key: '', limit: 1, window: 1 }, 'key'],
      ['key over 512 bytes', { key: 'é'.repeat(257), limit: 1, window: 1 }, 'key'],
      ['key of a lone surrogate', { key: '\ud800', limit: 1, window: 1 }, 'key'],
      ['key not a string', { key: 42, limit: 1, window: 1 }, 'key'],
      ['negative limit', { key: 'k', limit: -1, window: 1 }, 'limit'],
      ['fractional limit', { key: 'k', limit: 1.5, window: 1 }, 'limit'],
      ['limit as string', { key: 'k', limit: '10', window: 1 }, 'limit'],
      ['limit NaN', { key: 'k', limit: Number.NaN, window: 1 }, 'limit'],
      ['huge limit', { key: 'k', limit: 1e12, window: 1 }, 'limit'],
      ['log limit over 10^9', { key: 'k', limit: 1e9 + 1, window: 1 }, 'limit'],
      ['log cost over 10^9', { key: 'k', limit: 1e9, window: 1, cost: 1e9 + 1 }, 'cost'],
      ['zero window', { key: 'k', limit: 1, window: 0 }, 'window'],
      ['negative window', { key: 'k', limit: 1, window: -5 }, 'window'],
      ['huge window', { key: 'k', limit: 1, window: '367d' }, 'window'],
      ['sub-millisecond window', { key: 'k', limit: 1, window: 0.0001 }, 'window'],
      ['infinite window', { key: 'k', limit: 1, window: Number.POSITIVE_INFINITY }, 'window'],
      ['bad duration', { key: 'k', limit: 1, window: '10 parsecs' }, 'window'],
      ['missing window', { key: 'k', limit: 1 }, 'window'],
      ['negative cost', { key: 'k', limit: 1, window: 1, cost: -1 }, 'cost'],
      ['fractional cost', { key: 'k', limit: 5, window: 1, cost: 0.5 }, 'cost'],
      ['cost above limit', { key: 'k', limit: 5, window: 1, cost: 6 }, 'cost'],
      ['unknown algorithm', { key: 'k', limit: 1, window: 1, algorithm: 'leaky-sieve' }, 'algorithm'],
    ];
    it.each(invalid)('refuses %s with a typed error naming the field', async (_, request, field) => {
      const error: unknown = await t.limiter.check(request as CheckRequest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'invalid_argument', field });
    });

    it('refuses bad reset and peek input the same way', async () => {
      await expect(t.limiter.reset({ key: '', window: 1 })).rejects.toMatchObject({ field: 'key' });
      await expect(t.limiter.reset({ key: 'k', window: '0s' })).rejects.toMatchObject({ field: 'window' });
      await expect(t.limiter.peek({ key: 'k', limit: -2, window: 1 })).rejects.toMatchObject({
        field: 'limit',
      });
    });

    it('fails every call after close', async () => {
      const store = await t.factory.create(t.clock);
      const closing = new RateLimiter({ store });
      await closing.close();
      await expect(closing.check({ key: freshKey('closed'), limit: 1, window: 1 })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    });

    it('slides on its own clock too (short real windows)', async () => {
      const store = await t.factory.create();
      t.opened.push(store);
      const real = new RateLimiter({ store });
      const key = freshKey('real');
      // Long enough for three checks on a loaded machine (or a cluster); the wait is retryAfterMs.
      const check = { key, limit: 2, window: '400ms' };
      expect((await real.check(check)).allowed).toBe(true);
      expect((await real.check(check)).allowed).toBe(true);
      const denied = await real.check(check);
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeGreaterThan(0);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(400);
      await new Promise((resolve) => setTimeout(resolve, denied.retryAfterMs + 5));
      expect(await real.check(check)).toMatchObject({ allowed: true });
    });
  });
}
