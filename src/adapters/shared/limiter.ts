import type { AlgorithmName } from '../../core/algorithms/index.js';
import type { CheckRequest, Decision, PeekRequest, ResetRequest } from '../../core/types.js';
import type { BatchDecision } from '../../limiter.js';

/** Units given back to a counter: up to `cost` (default 1) of those recorded in its current window. */
export interface RefundRequest {
  key: string;
  limit: number;
  window: number | string;
  cost?: number;
  algorithm?: AlgorithmName | (string & {});
}

/**
 * What the adapters use of a limiter: RateLimiter and MeteredLimiter both fit, over any store
 * (memory, Redis, Cluster, Sentinel, the service client).
 */
export interface AdapterLimiter {
  check(request: CheckRequest): Promise<Decision>;
  checkAll(requests: readonly CheckRequest[]): Promise<BatchDecision>;
  peek(request: PeekRequest): Promise<Decision>;
  reset(request: ResetRequest): Promise<void>;
  refund(request: RefundRequest): Promise<Decision>;
}
