import type { AcquireOutcome, LeaseAcquire, ReleaseOutcome, RenewOutcome } from './leases.js';

/*
 * The leases of one key: the TypeScript twin of lua/include/lease-set.lua, which keeps the same
 * state in Redis (a sorted set of lease ids by expiry, and a hash of their units). A lease is live
 * while its expiry is later than now; every operation first drops the leases that are not.
 * Times are integer microseconds, as both twins compute.
 */

interface Held {
  units: number;
  expiresAtUs: number;
}

/** A heap entry; stale once its lease was released or renewed to another expiry. */
interface Expiry {
  leaseId: string;
  atUs: number;
}

export class LeaseSet {
  private readonly held = new Map<string, Held>();
  /** Min-heap of expiries: the next lease to expire on top. Renewals and releases leave stale entries. */
  private readonly expiries: Expiry[] = [];
  private units = 0;
  /** The limit of the latest admitted acquire (Redis keeps it beside the units). */
  private limit = 0;
  /** When the last lease could expire at the latest: the set may be dropped after it. */
  private latestUs = 0;

  /** Nothing held: the set can be forgotten. */
  get empty(): boolean {
    return this.held.size === 0;
  }

  /** Leases held (live or not yet trimmed), for a store's account of its memory. */
  get leases(): number {
    return this.held.size;
  }

  /** Expiries on the heap, stale ones included (a renewal leaves one until its time passes). */
  get expiryEntries(): number {
    return this.expiries.length;
  }

  /** No lease can be live after this time. */
  get latestExpiryUs(): number {
    return this.latestUs;
  }

  acquire(leaseId: string, lease: LeaseAcquire, nowUs: number): AcquireOutcome {
    this.trim(nowUs);
    if (this.units + lease.cost > lease.limit) {
      const earliest = this.earliestLive();
      return {
        allowed: false,
        inFlight: this.units,
        retryAfterUs: earliest === undefined ? 0 : earliest - nowUs,
        expiresInUs: 0,
      };
    }
    if (lease.cost === 0) return { allowed: true, inFlight: this.units, retryAfterUs: 0, expiresInUs: 0 };
    if (this.held.has(leaseId)) throw new Error('lease id in use');
    const ttlUs = lease.ttlMs * 1000;
    this.hold(leaseId, { units: lease.cost, expiresAtUs: nowUs + ttlUs });
    this.units += lease.cost;
    this.limit = lease.limit;
    return { allowed: true, leaseId, inFlight: this.units, retryAfterUs: 0, expiresInUs: ttlUs };
  }

  release(leaseId: string, nowUs: number): ReleaseOutcome {
    this.trim(nowUs);
    const limit = this.limit;
    const lease = this.held.get(leaseId);
    if (!lease) return { released: false, inFlight: this.units, limit };
    this.held.delete(leaseId);
    this.units -= lease.units;
    if (this.held.size === 0) this.forget();
    return { released: true, inFlight: this.units, limit };
  }

  renew(leaseId: string, ttlMs: number, nowUs: number): RenewOutcome {
    this.trim(nowUs);
    const lease = this.held.get(leaseId);
    if (!lease) return { renewed: false, inFlight: this.units, limit: this.limit, expiresInUs: 0 };
    const ttlUs = ttlMs * 1000;
    this.hold(leaseId, { units: lease.units, expiresAtUs: nowUs + ttlUs });
    return { renewed: true, inFlight: this.units, limit: this.limit, expiresInUs: ttlUs };
  }

  /** Drop every lease whose expiry is not later than now. */
  trim(nowUs: number): void {
    let top = this.expiries[0];
    while (top && top.atUs <= nowUs) {
      const lease = this.held.get(top.leaseId);
      if (lease?.expiresAtUs === top.atUs) {
        this.held.delete(top.leaseId);
        this.units -= lease.units;
      }
      this.pop();
      top = this.expiries[0];
    }
    if (this.held.size === 0) this.forget();
  }

  private hold(leaseId: string, lease: Held): void {
    this.held.set(leaseId, lease);
    this.push({ leaseId, atUs: lease.expiresAtUs });
    this.latestUs = Math.max(this.latestUs, lease.expiresAtUs);
  }

  /** The expiry of the earliest live lease (after a trim), dropping stale heap entries above it. */
  private earliestLive(): number | undefined {
    let top = this.expiries[0];
    while (top && this.held.get(top.leaseId)?.expiresAtUs !== top.atUs) {
      this.pop();
      top = this.expiries[0];
    }
    return top?.atUs;
  }

  /** An empty set holds no limit either: Redis deletes both keys when the last lease goes. */
  private forget(): void {
    this.expiries.length = 0;
    this.units = 0;
    this.limit = 0;
  }

  private push(entry: Expiry): void {
    const heap = this.expiries;
    heap.push(entry);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = heap[parent] as Expiry;
      if (above.atUs <= entry.atUs) break;
      heap[at] = above;
      at = parent;
    }
    heap[at] = entry;
  }

  private pop(): void {
    const heap = this.expiries;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && (heap[right] as Expiry).atUs < (heap[left] as Expiry).atUs ? right : left;
      const below = heap[child] as Expiry;
      if (below.atUs >= last.atUs) break;
      heap[at] = below;
      at = child;
    }
    heap[at] = last;
  }
}
