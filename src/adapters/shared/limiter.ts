import type { Limiter } from '../../limiter.js';
import type { Decision, RefundRequest } from '../../core/types.js';

export type { RefundRequest };

/**
 * What the adapters use of a limiter: RateLimiter and MeteredLimiter both fit, over any store
 * (memory, Redis, Cluster, Sentinel, the service client).
 */
export type AdapterLimiter = Pick<Limiter, 'check' | 'checkAll' | 'peek' | 'reset'> & {
  refund(request: RefundRequest): Promise<Decision>;
};
