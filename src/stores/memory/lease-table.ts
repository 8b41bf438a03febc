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
import { keyBytes } from './heap-bytes.js';

/** Sets looked at per sweep tick, so a sweep of many never holds the event loop long. */
const SWEEP_BATCH = 20_000;

/*
 * Heap bytes, measured (100k keys of one lease, one key of 100k leases, renewals): a key's set
 * (its LeaseSet, map, heap array and the table's entry) beside its key; a lease (its id, entry and
 * record); an expiry on the heap (one per lease, and one more per renewal until its time passes).
 */
const SET_BYTES = 420;
const LEASE_BYTES = 170;
const EXPIRY_BYTES = 56;

function setBytes(key: string, set: LeaseSet): number {
  return SET_BYTES + keyBytes(key) + LEASE_BYTES * set.leases + EXPIRY_BYTES * set.expiryEntries;
}

/**
 * The leases of a MemoryStore, apart from its counters: one LeaseSet per key that holds any,
 * dropped when its last lease is released, or by a sweep once every lease in it has expired.
 */
export class LeaseTable {
  private readonly sets = new Map<string, LeaseSet>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  /** Where the sweep goes on from: a live iterator, so it sees the map as it changes. */
  private hand: Iterator<[string, LeaseSet]> | undefined;
  private held = 0;

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

  /** Estimated heap bytes of every set: the memory store counts them against its bound. */
  get bytes(): number {
    return this.held;
  }

  acquire(lease: LeaseAcquire, nowUs: number): AcquireOutcome {
    const found = this.sets.get(lease.key);
    const set = found ?? new LeaseSet();
    return this.changing(lease.key, set, () => set.acquire(newLeaseId(), lease, nowUs));
  }

  release(ref: LeaseRef, nowUs: number): ReleaseOutcome {
    const set = this.sets.get(ref.key);
    if (!set) return { released: false, inFlight: 0, limit: 0 };
    return this.changing(ref.key, set, () => set.release(ref.leaseId, nowUs));
  }

  renew(renewal: LeaseRenewal, nowUs: number): RenewOutcome {
    const set = this.sets.get(renewal.key);
    if (!set) return { renewed: false, inFlight: 0, limit: 0, expiresInUs: 0 };
    return this.changing(renewal.key, set, () => set.renew(renewal.leaseId, renewal.ttlMs, nowUs));
  }

  /** Run an operation on a key's set: kept while it holds a lease, dropped when empty, its bytes counted. */
  private changing<T>(key: string, set: LeaseSet, operate: () => T): T {
    const kept = this.sets.get(key) === set;
    const before = kept ? setBytes(key, set) : 0;
    const outcome = operate();
    if (set.empty) {
      if (kept) this.sets.delete(key);
      this.held -= before;
    } else {
      if (!kept) this.sets.set(key, set);
      this.held += setBytes(key, set) - before;
    }
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
        this.held -= setBytes(key, set);
        this.sets.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sets.clear();
    this.held = 0;
    this.hand = undefined;
  }
}
