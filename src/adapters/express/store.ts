import { HitStore } from '../shared/hit-store.js';
import type { HitStoreOptions } from '../shared/hit-store.js';

export type ExpressRateLimitStoreOptions = HitStoreOptions;

/**
 * An express-rate-limit (v7, v8) `Store` over our limiter: change only the `store:` line, keep
 * `limit`, `windowMs`, the headers and the 429 as they were; counting becomes exact and shared
 * across processes on Redis. Default key prefix `erl:`. One store per rateLimit() instance, as
 * express-rate-limit requires.
 */
export class ExpressRateLimitStore extends HitStore {
  constructor(options: ExpressRateLimitStoreOptions) {
    super(options, 'erl:');
  }
}
