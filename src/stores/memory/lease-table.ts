import { LeaseSet } from '../../core/lease-set.js';
import { newLeaseId } from '../../core/leases.js';
import type {
  AcquireOutcome,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  ReleaseOutcome,
  RenewOutcome,
} from '../../core/leases.js';

/** Sets looked at per sweep tick, so a sweep of many never holds the event loop long. */
const SWEEP_BATCH = 20_000;

/**
 * The leases of a MemoryStore, apart from its counters: one LeaseSet per key that holds any,
 * dropped when its last lease is released, or by a sweep once every lease in it has expired.
 */
export class LeaseTable {
  private readonly sets = new Map<string, LeaseSet>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  /** Where the sweep goes on from: a live iterator, so it sees the map as it changes. */
  private hand: Iterator<[string, LeaseSet]> | undefined;

  constructor(
    private readonly nowUs: () => number,
    sweepIntervalMs: number,
  ) {
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(SWEEP_BATCH), sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  /** Keys holding leases (live or not yet swept). */
  get size(): number {
    return this.sets.size;
  }

  acquire(lease: LeaseAcquire, nowUs: number): AcquireOutcome {
    const found = this.sets.get(lease.key);
    const set = found ?? new LeaseSet();
    const outcome = set.acquire(newLeaseId(), lease, nowUs);
    if (!found && !set.empty) this.sets.set(lease.key, set);
    else if (found && set.empty) this.sets.delete(lease.key);
    return outcome;
  }

  release(ref: LeaseRef, nowUs: number): ReleaseOutcome {
    const set = this.sets.get(ref.key);
    if (!set) return { released: false, inFlight: 0, limit: 0 };
    const outcome = set.release(ref.leaseId, nowUs);
    if (set.empty) this.sets.delete(ref.key);
    return outcome;
  }

  renew(renewal: LeaseRenewal, nowUs: number): RenewOutcome {
    const set = this.sets.get(renewal.key);
    if (!set) return { renewed: false, inFlight: 0, limit: 0, expiresInUs: 0 };
    const outcome = set.renew(renewal.leaseId, renewal.ttlMs, nowUs);
    if (set.empty) this.sets.delete(renewal.key);
    return outcome;
  }

  /** Drop, of the next `budget` sets, those whose every lease has expired; returns how many went. */
  sweep(budget = this.sets.size): number {
    const nowUs = this.nowUs();
    let dropped = 0;
    for (let looked = 0; looked < Math.min(budget, this.sets.size); looked++) {
      this.hand ??= this.sets.entries();
      const next = this.hand.next();
      if (next.done) {
        this.hand = undefined;
        continue;
      }
      const [key, set] = next.value;
      if (set.latestExpiryUs <= nowUs) {
        this.sets.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sets.clear();
    this.hand = undefined;
  }
}
