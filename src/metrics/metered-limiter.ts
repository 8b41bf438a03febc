import { StoreUnavailableError } from '../core/errors.js';
import type { Check, CounterRef, Decision } from '../core/types.js';
import type { BatchDecision, Limiter } from '../limiter.js';
import type { LimiterOperation, ServiceMetrics } from './metrics.js';
import { DECISION_OPERATION } from './metrics.js';

/**
 * The limiter as every transport uses it: the same calls, timed and counted. Keeping this out of
 * the routes means HTTP, gRPC and any later transport report the same numbers the same way.
 * Store failures are counted here and only here: a decision the failure policy made without the
 * store says so (`degraded`), and a failure it let through arrives as a StoreUnavailableError.
 */
export class MeteredLimiter implements Limiter {
  constructor(
    private readonly limiter: Limiter,
    private readonly metrics: ServiceMetrics,
    /** Short name of the store for readiness and logs: "memory", "redis". */
    readonly storeKind: string,
  ) {}

  async decide(check: Check): Promise<Decision> {
    const decision = await this.measure('check', () => this.limiter.decide(check));
    this.count([decision]);
    return decision;
  }

  async decideMany(checks: readonly Check[]): Promise<Decision[]> {
    const decisions = await this.measure('checks', () => this.limiter.decideMany(checks));
    this.count(decisions);
    return decisions;
  }

  async decideAll(checks: readonly Check[]): Promise<BatchDecision> {
    const batch = await this.measure('checks', () => this.limiter.decideAll(checks));
    this.count(batch.results);
    return batch;
  }

  async peekCheck(check: Check): Promise<Decision> {
    const decision = await this.measure('peek', () => this.limiter.peekCheck(check));
    this.countDegraded([decision]);
    return decision;
  }

  async resetCounter(counter: CounterRef): Promise<void> {
    await this.measure('reset', () => this.limiter.resetCounter(counter));
  }

  async refundCheck(check: Check): Promise<Decision> {
    return this.measure('refund', () => this.limiter.refundCheck(check));
  }

  async ping(): Promise<void> {
    await this.measure('ping', () => this.limiter.ping());
  }

  close(): Promise<void> {
    return this.limiter.close();
  }

  private count(decisions: readonly Decision[]): void {
    this.countDegraded(decisions);
    for (const decision of decisions) {
      this.metrics.decisions.inc(decision.algorithm, decision.allowed ? 'allowed' : 'denied');
    }
  }

  /** One store failure per call, however many of its decisions it degraded. */
  private countDegraded(decisions: readonly Decision[]): void {
    const degraded = decisions.filter((decision) => decision.degraded === true).length;
    if (degraded === 0) return;
    this.metrics.degradedDecisions.inc(degraded);
    this.metrics.storeErrors.inc({ operation: DECISION_OPERATION });
  }

  private async measure<T>(operation: LimiterOperation, call: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      return await call();
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        const guarded = operation === 'check' || operation === 'checks' || operation === 'peek';
        this.metrics.storeErrors.inc({ operation: guarded ? DECISION_OPERATION : operation });
      }
      throw error;
    } finally {
      this.metrics.decisionSeconds.observe(operation, (performance.now() - startedAt) / 1000);
    }
  }
}
