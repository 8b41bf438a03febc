import { HitStore } from '../shared/hit-store.js';
import type { HitStoreOptions } from '../shared/hit-store.js';

export type HonoRateLimiterStoreOptions = HitStoreOptions;

/**
 * A hono-rate-limiter `Store` over our limiter: change only the `store:` line of `rateLimiter({...})`.
 * Default key prefix `hrl:`.
 */
export class HonoRateLimiterStore extends HitStore {
  constructor(options: HonoRateLimiterStoreOptions) {
    super(options, 'hrl:');
  }
}
