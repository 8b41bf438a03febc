import { StoreUnavailableError } from './core/errors.js';
import type { Check, Decision } from './core/types.js';
import { toDecision } from './core/types.js';
import { unaffordable } from './core/validate.js';
import { MemoryStore } from './stores/memory/memory-store.js';
import type { Store } from './stores/store.js';

/**
 * What a check does when the store cannot answer in time:
 * - `closed`: fail with StoreUnavailableError (503 / UNAVAILABLE at the transports);
 * - `open`: allow, with `degraded: true`;
 * - `local`: decide in process against limit / live nodes, with `degraded: true`, until the
 *   store answers again (every call tries the store first).
 */
export type FailureMode = 'open' | 'closed' | 'local';

export const FAILURE_MODES: readonly FailureMode[] = ['open', 'closed', 'local'];

export interface FailurePolicyOptions {
  mode: FailureMode;
  /** `local` mode: the in-process store to fall back on. Default: a MemoryStore. */
  localStore?: Store;
  /** `local` mode: how many nodes share each limit (the registry's last count). Default 1. */
  liveNodes?: () => number;
  /** Told of every store failure a check met, whatever the mode: for metrics and logs. */
  onStoreFailure?: (error: StoreUnavailableError) => void;
}

/** A decision made without the store. */
export class FailurePolicy {
  readonly mode: FailureMode;
  private readonly localStore: Store | undefined;
  private readonly liveNodes: () => number;
  private readonly onStoreFailure: (error: StoreUnavailableError) => void;

  constructor(options: FailurePolicyOptions) {
    this.mode = options.mode;
    this.localStore = options.mode === 'local' ? (options.localStore ?? new MemoryStore()) : undefined;
    this.liveNodes = options.liveNodes ?? (() => 1);
    this.onStoreFailure = options.onStoreFailure ?? (() => undefined);
  }

  /**
   * Run `decide` against the store; on a store failure, answer as the mode says. `atomic` batches
   * fall back atomically too. Anything but a StoreUnavailableError (bad input, a bug) passes through.
   */
  async guard(
    checks: readonly Check[],
    atomic: boolean,
    decide: () => Promise<Decision[]>,
  ): Promise<Decision[]> {
    try {
      return await decide();
    } catch (error) {
      return this.decideWithout(checks, atomic, error);
    }
  }

  /** What `checks` get when the store failed with `error`; anything else than a store failure is rethrown. */
  async decideWithout(checks: readonly Check[], atomic: boolean, error: unknown): Promise<Decision[]> {
    if (!(error instanceof StoreUnavailableError)) throw error;
    this.onStoreFailure(error);
    if (this.mode === 'closed') throw error;
    if (this.mode === 'open') return checks.map(openDecision);
    return this.decideLocally(checks, atomic);
  }

  async close(): Promise<void> {
    await this.localStore?.close();
  }

  private async decideLocally(checks: readonly Check[], atomic: boolean): Promise<Decision[]> {
    const store = this.localStore;
    if (!store) throw new Error('local decisions need a local store');
    const nodes = Math.max(1, Math.floor(this.liveNodes()));
    // A node's share of the limit, at least 1 so that small limits stay usable on many nodes.
    const scaled = checks.map((check) => ({
      ...check,
      limit: check.limit === 0 ? 0 : Math.max(1, Math.floor(check.limit / nodes)),
    }));
    const tooCostly = scaled.map((check) => check.cost > check.limit);
    if (atomic) {
      if (tooCostly.some(Boolean)) return scaled.map((check) => degraded(unaffordable(check)));
      const outcomes = await store.checkAll(scaled);
      return scaled.map((check, i) => degraded(toDecision(check, outcomes[i] ?? missing())));
    }
    const affordable = scaled.filter((_, i) => !tooCostly[i]);
    const outcomes = await store.checkMany(affordable);
    let next = 0;
    return scaled.map((check, i) =>
      degraded(tooCostly[i] ? unaffordable(check) : toDecision(check, outcomes[next++] ?? missing())),
    );
  }
}

function degraded(decision: Decision): Decision {
  return { ...decision, degraded: true };
}

/** Allowed without being counted: the store could not say, and the mode prefers availability. */
function openDecision(check: Check): Decision {
  return degraded({
    allowed: true,
    limit: check.limit,
    remaining: check.limit,
    count: 0,
    retryAfterMs: 0,
    resetAfterMs: 0,
    windowMs: check.windowMs,
    algorithm: check.algorithm,
  });
}

function missing(): never {
  throw new Error('the local store returned fewer outcomes than checks');
}
