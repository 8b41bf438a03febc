import { StoreUnavailableError } from './core/errors.js';
import type { Check, Decision } from './core/types.js';
import { toDecision } from './core/types.js';
import { unaffordable } from './core/validate.js';
import { MemoryStore } from './stores/memory/memory-store.js';
import type { LeaseStore, Store } from './stores/store.js';
import { keepsLeases } from './stores/store.js';
import { toLeaseDecision } from './core/leases.js';
import type { LeaseAcquire, LeaseDecision } from './core/leases.js';

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

  /**
   * What an acquire gets when the store failed with `error`: `open` admits without a lease (there
   * is none to release), `closed` rethrows, `local` holds a lease in this process on this node's
   * share of the limit.
   */
  async acquireWithout(lease: LeaseAcquire, error: unknown): Promise<LeaseDecision> {
    if (!(error instanceof StoreUnavailableError)) throw error;
    this.onStoreFailure(error);
    if (this.mode === 'closed') throw error;
    if (this.mode === 'open') return openLease(lease);
    const share = { ...lease, limit: this.share(lease.limit) };
    if (share.cost > share.limit) {
      const full = { allowed: false, inFlight: 0, retryAfterUs: share.ttlMs * 1000, expiresInUs: 0 };
      return degraded(toLeaseDecision(share, full));
    }
    return degraded(toLeaseDecision(share, await this.localLeases().acquire(share)));
  }

  /**
   * A release or renewal: asked of the store, and in `local` mode also of this process's leases,
   * where the acquires made while the store was down hold theirs. Elsewhere a store failure
   * throws: nothing is known to have been freed (the lease still expires on its own).
   */
  async settleLease<T>(
    remote: () => Promise<T>,
    local: (store: LeaseStore) => Promise<T>,
    held: (answer: T) => boolean,
  ): Promise<T> {
    if (this.mode !== 'local') return remote();
    let answer: T;
    try {
      answer = await remote();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.onStoreFailure(error);
      return local(this.localLeases());
    }
    if (held(answer)) return answer;
    const locally = await local(this.localLeases());
    return held(locally) ? locally : answer;
  }

  /** A node's share of a limit, at least 1 so that small limits stay usable on many nodes. */
  private share(limit: number): number {
    const nodes = Math.max(1, Math.floor(this.liveNodes()));
    return limit === 0 ? 0 : Math.max(1, Math.floor(limit / nodes));
  }

  private localLeases(): LeaseStore {
    const store = this.localStore;
    if (!store || !keepsLeases(store)) throw new Error('local leases need a local store that keeps leases');
    return store;
  }

  private async decideLocally(checks: readonly Check[], atomic: boolean): Promise<Decision[]> {
    const store = this.localStore;
    if (!store) throw new Error('local decisions need a local store');
    const scaled = checks.map((check) => ({ ...check, limit: this.share(check.limit) }));
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

function degraded<T extends Decision | LeaseDecision>(decision: T): T {
  return { ...decision, degraded: true };
}

/** Admitted without a lease: the store could not hold one, and the mode prefers availability. */
function openLease(lease: LeaseAcquire): LeaseDecision {
  return degraded({
    allowed: true,
    limit: lease.limit,
    inFlight: 0,
    remaining: lease.limit,
    retryAfterMs: 0,
    expiresInMs: 0,
    ttlMs: lease.ttlMs,
  });
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
