import { DEFAULT_ALGORITHM } from '../core/algorithms/index.js';
import { StoreUnavailableError } from '../core/errors.js';
import type { CheckRequest, Decision, PeekRequest, ResetRequest } from '../core/types.js';
import type { BatchDecision, RateLimiter } from '../limiter.js';
import type { LimiterOperation, ServiceMetrics } from './metrics.js';

/** Operations that reach the store without the failure policy. */
const UNGUARDED = new Set<LimiterOperation>(['reset', 'ping']);

/**
 * The limiter as every transport uses it: the same calls, timed and counted. Keeping this out of
 * the routes means HTTP, gRPC and any later transport report the same numbers the same way.
 */
export class MeteredLimiter {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly metrics: ServiceMetrics,
  ) {}

  get storeKind(): string {
    return this.limiter.store.kind;
  }

  async check(request: CheckRequest): Promise<Decision> {
    const decision = await this.measure('check', () => this.limiter.check(request));
    this.count(request.algorithm, decision);
    return decision;
  }

  async checkMany(requests: readonly CheckRequest[]): Promise<Decision[]> {
    const decisions = await this.measure('checks', () => this.limiter.checkMany(requests));
    decisions.forEach((decision, index) => {
      this.count(requests[index]?.algorithm, decision);
    });
    return decisions;
  }

  async checkAll(requests: readonly CheckRequest[]): Promise<BatchDecision> {
    const batch = await this.measure('checks', () => this.limiter.checkAll(requests));
    batch.results.forEach((decision, index) => {
      this.count(requests[index]?.algorithm, decision);
    });
    return batch;
  }

  async peek(request: PeekRequest): Promise<Decision> {
    const decision = await this.measure('peek', () => this.limiter.peek(request));
    if (decision.degraded) this.metrics.degradedDecisions.inc();
    return decision;
  }

  async reset(request: ResetRequest): Promise<void> {
    await this.measure('reset', () => this.limiter.reset(request));
  }

  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  async ping(): Promise<void> {
    await this.measure('ping', () => this.limiter.store.ping());
  }

  private count(algorithm: string | undefined, decision: Decision): void {
    if (decision.degraded) this.metrics.degradedDecisions.inc();
    this.metrics.decisions.inc({
      // Only validated requests reach here, so the label is one of the registered algorithm names.
      algorithm: algorithm ?? DEFAULT_ALGORITHM,
      outcome: decision.allowed ? 'allowed' : 'denied',
    });
  }

  private async measure<T>(operation: LimiterOperation, call: () => Promise<T>): Promise<T> {
    const stopTimer = this.metrics.decisionSeconds.startTimer({ operation });
    try {
      return await call();
    } catch (error) {
      // Decisions pass through the failure policy, which reports their store failures itself.
      if (error instanceof StoreUnavailableError && UNGUARDED.has(operation)) {
        this.metrics.storeErrors.inc({ operation });
      }
      throw error;
    } finally {
      stopTimer();
    }
  }
}
