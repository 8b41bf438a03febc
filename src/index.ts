export { RateLimiter } from './limiter.js';
export type { Limiter, RateLimiterOptions, BatchDecision } from './limiter.js';
export { FailurePolicy, FAILURE_MODES } from './failure-policy.js';
export type { FailureMode, FailurePolicyOptions } from './failure-policy.js';
export { MemoryStore } from './stores/memory/memory-store.js';
export type { MemoryStoreOptions, MemoryStoreStats } from './stores/memory/memory-store.js';
export { RedisStore } from './stores/redis/redis-store.js';
export type { RedisStoreOptions, RedisStoreStats } from './stores/redis/redis-store.js';
export { RedisUrlError, parseRedisUrl, redactRedisUrl } from './stores/redis/redis-url.js';
export type { RedisTarget } from './stores/redis/redis-url.js';
export type { Store } from './stores/store.js';
export { ServiceStore } from './stores/remote/service-store.js';
export type { ServiceStoreOptions } from './stores/remote/service-store.js';
export {
  RateLimiterError,
  InvalidArgumentError,
  OverloadedError,
  StoreUnavailableError,
} from './core/errors.js';
export type { ErrorCode } from './core/errors.js';
export { ManualClock, systemClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export { ALGORITHM_NAMES, DEFAULT_ALGORITHM } from './core/algorithms/index.js';
export type { AlgorithmName } from './core/algorithms/index.js';
export { parseWindow } from './core/duration.js';
export {
  MAX_UNITS,
  parseCheck,
  parseChecks,
  parseCounter,
  parsePeek,
  parseRefund,
  unaffordable,
} from './core/validate.js';
export type {
  Check,
  CheckRequest,
  CounterRef,
  PeekRequest,
  RefundRequest,
  ResetRequest,
  Decision,
  Outcome,
} from './core/types.js';
export type { WireDecision } from './protocol/decision.js';
export {
  MAX_LEASE_LIMIT,
  MAX_TTL_MS,
  MIN_TTL_MS,
  parseAcquire,
  parseRelease,
  parseRenew,
} from './core/leases.js';
export type {
  AcquireRequest,
  ReleaseRequest,
  RenewRequest,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  LeaseDecision,
  ReleaseResult,
  RenewResult,
  AcquireOutcome,
  ReleaseOutcome,
  RenewOutcome,
} from './core/leases.js';
export type { LeaseStore } from './stores/store.js';
