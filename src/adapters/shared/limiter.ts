import type { Limiter } from '../../limiter.js';

export type { RefundRequest } from '../../core/types.js';

/**
 * What the adapters use of a limiter: RateLimiter and MeteredLimiter both fit, over any store
 * (memory, Redis, Cluster, Sentinel, the service client).
 */
export type AdapterLimiter = Pick<
  Limiter,
  'decide' | 'decideAll' | 'peekCheck' | 'resetCounter' | 'refundCheck'
>;

/** What the `concurrency` option needs besides: the limiter's leases, parsed input in. */
export type LeaseLimiter = Pick<Limiter, 'acquireLease' | 'releaseLease' | 'renewLease'>;
