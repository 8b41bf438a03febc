import { ServiceUnavailableException } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { OverloadedError, StoreUnavailableError } from '../../core/errors.js';
import { PeerCounter } from '../shared/peer-counter.js';
import type { PeerStoreOptions } from '../shared/peer-counter.js';

export type { AdapterLimiter } from '../shared/limiter.js';
export type RateLimiterThrottlerStorageOptions = PeerStoreOptions;

/** What @nestjs/throttler's guard reads back from a storage. */
export interface ThrottlerStorageRecord {
  totalHits: number;
  /** Seconds until the window holds nothing (X-RateLimit-Reset). */
  timeToExpire: number;
  isBlocked: boolean;
  /** Seconds until a retry can pass (Retry-After), when blocked. */
  timeToBlockExpire: number;
}

/**
 * The limiter could not decide (store unreachable in the closed failure mode, or overloaded): a
 * 503 through Nest's exception layer, in our error shape, rather than an anonymous 500.
 */
function unavailable(error: unknown): never {
  if (error instanceof StoreUnavailableError || error instanceof OverloadedError) {
    throw new ServiceUnavailableException({
      error: { code: error.code, message: 'the rate limiter cannot decide now' },
    });
  }
  throw error;
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/**
 * A @nestjs/throttler `ThrottlerStorage` over our limiter:
 * `ThrottlerModule.forRoot({ throttlers: [...], storage: new RateLimiterThrottlerStorage({ limiter }) })`.
 * A blocked request records nothing, so a client is free again as soon as a unit leaves the window:
 * `blockDuration` is not applied. Default key prefix `nest:`.
 */
export class RateLimiterThrottlerStorage implements ThrottlerStorage {
  private readonly counter: PeerCounter;

  constructor(options: RateLimiterThrottlerStorageOptions) {
    this.counter = new PeerCounter(options, 'nest:');
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    // Nest already folds the throttler's name into its key; ours keeps counters apart all the same.
    const hit = await this.counter.hit(`${throttlerName}:${key}`, limit, ttl).catch(unavailable);
    return {
      totalHits: hit.totalHits,
      timeToExpire: seconds(hit.decision.resetAfterMs),
      isBlocked: !hit.allowed,
      timeToBlockExpire: hit.allowed ? 0 : seconds(hit.waitMs),
    };
  }
}
