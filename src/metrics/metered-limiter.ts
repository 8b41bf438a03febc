import { StoreUnavailableError } from '../core/errors.js';
import type { Check, CounterRef, Decision } from '../core/types.js';
import type {
  LeaseAcquire,
  LeaseDecision,
  LeaseRef,
  LeaseRenewal,
  ReleaseResult,
  RenewResult,
} from '../core/leases.js';
import type { ConsoleRecorder } from '../console/recorder.js';
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
    /** The operator console's tallies and denied keys, fed with every decision counted here. */
    private readonly recorder?: ConsoleRecorder,
  ) {}

  decide(check: Check): Promise<Decision> {
    const decided = this.decideNow(check);
    return decided instanceof Promise ? decided : Promise.resolve(decided);
  }

  /** The hot path of every transport: no promise of its own when the limiter answers at once. */
  decideNow(check: Check): Decision | Promise<Decision> {
    const startedAt = performance.now();
    let decided: Decision | Promise<Decision>;
    try {
      decided = this.limiter.decideNow(check);
    } catch (error) {
      this.failed('check', startedAt, error);
      throw error;
    }
    if (!(decided instanceof Promise)) return this.decided(check, startedAt, decided);
    return decided.then(
      (decision) => this.decided(check, startedAt, decision),
      (error: unknown) => {
        this.failed('check', startedAt, error);
        throw error;
      },
    );
  }

  async decideMany(checks: readonly Check[]): Promise<Decision[]> {
    const decisions = await this.measure('checks', () => this.limiter.decideMany(checks));
    this.count(checks, decisions);
    return decisions;
  }

  async decideAll(checks: readonly Check[]): Promise<BatchDecision> {
    const batch = await this.measure('checks', () => this.limiter.decideAll(checks));
    this.count(checks, batch.results);
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

  async acquireLease(lease: LeaseAcquire): Promise<LeaseDecision> {
    const decision = await this.measure('acquire', () => this.limiter.acquireLease(lease));
    this.metrics.leaseCalls.inc('acquire', decision.allowed ? 'allowed' : 'denied');
    this.countDegraded([decision]);
    return decision;
  }

  async releaseLease(ref: LeaseRef): Promise<ReleaseResult> {
    const result = await this.measure('release', () => this.limiter.releaseLease(ref));
    this.metrics.leaseCalls.inc('release', result.released ? 'released' : 'not_released');
    return result;
  }

  async renewLease(renewal: LeaseRenewal): Promise<RenewResult> {
    const result = await this.measure('renew', () => this.limiter.renewLease(renewal));
    this.metrics.leaseCalls.inc('renew', result.renewed ? 'renewed' : 'not_renewed');
    return result;
  }

  close(): Promise<void> {
    return this.limiter.close();
  }

  /** One check decided: timed and counted as measure() and count() do, without a closure. */
  private decided(check: Check, startedAt: number, decision: Decision): Decision {
    const endedAt = performance.now();
    this.metrics.decisionSeconds.observe('check', (endedAt - startedAt) / 1000);
    this.metrics.decisions.inc(decision.algorithm, decision.allowed ? 'allowed' : 'denied');
    this.recorder?.decidedAt(endedAt, check.key, check, decision.allowed, decision.degraded === true);
    if (decision.degraded === true) {
      this.metrics.degradedDecisions.inc(1);
      this.metrics.storeErrors.inc({ operation: DECISION_OPERATION });
    }
    return decision;
  }

  private failed(operation: LimiterOperation, startedAt: number, error: unknown): void {
    this.countFailure(operation, error);
    this.metrics.decisionSeconds.observe(operation, (performance.now() - startedAt) / 1000);
  }

  private countFailure(operation: LimiterOperation, error: unknown): void {
    if (error instanceof StoreUnavailableError) {
      const guarded =
        operation === 'check' || operation === 'checks' || operation === 'peek' || operation === 'acquire';
      this.metrics.storeErrors.inc({ operation: guarded ? DECISION_OPERATION : operation });
    }
  }

  private count(checks: readonly Check[], decisions: readonly Decision[]): void {
    this.countDegraded(decisions);
    // The recorder's one clock (performance.now() and its wall offset), as for single decisions, so
    // a batch and a check decided at the same instant land in the same second.
    const now = performance.now();
    decisions.forEach((decision, index) => {
      this.metrics.decisions.inc(decision.algorithm, decision.allowed ? 'allowed' : 'denied');
      const check = checks[index];
      if (check)
        this.recorder?.decidedAt(now, check.key, check, decision.allowed, decision.degraded === true);
    });
  }

  /** One store failure per call, however many of its decisions it degraded. */
  private countDegraded(decisions: readonly Pick<Decision, 'degraded'>[]): void {
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
      this.countFailure(operation, error);
      throw error;
    } finally {
      this.metrics.decisionSeconds.observe(operation, (performance.now() - startedAt) / 1000);
    }
  }
}
