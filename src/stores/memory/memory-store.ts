import { getHeapStatistics } from 'node:v8';
import { algorithmFor, outcomeOf } from '../../core/algorithms/index.js';
import type { Algorithm, AlgorithmName, Evaluation } from '../../core/algorithms/index.js';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/clock.js';
import { OverloadedError, StoreUnavailableError, asError } from '../../core/errors.js';
import type { Check, CounterRef, Outcome } from '../../core/types.js';
import type { Store } from '../store.js';
import type {
  AcquireOutcome,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  ReleaseOutcome,
  RenewOutcome,
} from '../../core/leases.js';
import { keyBytes } from './heap-bytes.js';
import { LeaseTable } from './lease-table.js';

/** What the store does when it is full and a check needs room: see MemoryStoreOptions.whenFull. */
export type WhenFull = 'evict' | 'refuse';

export interface MemoryStoreOptions {
  /** Time source; defaults to the process clock. */
  clock?: Clock;
  /** Most bytes of counters and leases kept (as measured per layout). Default: defaultMaxBytes(). */
  maxBytes?: number;
  /** Most counters kept at once. Default 10,000,000. */
  maxKeys?: number;
  /**
   * Full, and a check needs room: `evict` (default) drops the counters whose loss gives back the
   * least (expired ones first, then the emptiest, then the least recently used of a sample);
   * `refuse` drops only counters that hold nothing any more and otherwise fails the check with
   * OverloadedError, so no one's used quota is ever handed back.
   */
  whenFull?: WhenFull;
  /** How often expired counters are swept; 0 disables the timer (they are still dropped on access). Default 10 s. */
  sweepIntervalMs?: number;
  /** Told each time the bound costs something: a counter that still counted was evicted, or a check refused. */
  onPressure?: (event: 'evicted' | 'refused') => void;
}

export interface MemoryStoreStats {
  /** Counters held. */
  counters: number;
  /** Estimated bytes the counters and leases hold (measured per layout: within a few tenths of the heap). */
  bytes: number;
  /** Of which leases (concurrency limits): they count against the bound but are never evicted. */
  leaseBytes: number;
  /** The bound on `bytes`. */
  maxBytes: number;
  /** Counters dropped to stay within the bound before their window passed. */
  evictions: number;
  /** Checks refused because the store was full (whenFull: refuse). */
  shed: number;
}

/** One counter; the counters of one key form a chain from the one the map holds. */
interface Counter {
  readonly key: string;
  readonly algorithm: AlgorithmName;
  readonly windowMs: number;
  state: unknown;
  expiresAtUs: number;
  bytes: number;
  /** count / limit as of its last check: how much quota evicting it would hand back. */
  fill: number;
  usedAtUs: number;
  next: Counter | undefined;
  /** Removed from the store: a sweep or eviction hand still holding it must pass it by. */
  gone: boolean;
}

/**
 * Bytes of a counter beside its state and its key, measured on the heap (bench: `memory-heap`):
 * its object with the boxes of its three fractional numbers (152), and its share of the map's
 * table (28 bytes a slot, the table between half full and full, and twice that while it grows).
 */
const COUNTER_BYTES = 152 + 48;

/** Room made before a counter that exists records: a log entry's share of its array, at most. */
const GROWTH_BYTES = 64;

/** Counters looked at to choose one to evict. */
const EVICTION_SAMPLE = 16;

/** Counters a sweep tick looks at, so a sweep of millions never holds the event loop long. */
const SWEEP_BATCH = 20_000;

/**
 * Counters in this process, with the same semantics as the Redis store. A check runs
 * synchronously between awaits, so it is atomic within the process. Memory is bounded by an
 * estimate of the bytes the counters hold as well as by their number; a weighted log holds one
 * entry per admitted check, whatever its cost.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly clock: Clock;
  private readonly maxBytes: number;
  private readonly maxKeys: number;
  private readonly whenFull: WhenFull;
  private readonly onPressure: (event: 'evicted' | 'refused') => void;
  private readonly counters = new Map<string, Counter>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  /** Leases (concurrency limits) live apart from the counters; their bytes count against the bound. */
  private readonly leases: LeaseTable;
  /** Where the sweep and the eviction sample go on from: a clock hand over the counters. */
  private hand: Iterator<Counter> | undefined;
  private count = 0;
  private bytes = 0;
  private evictions = 0;
  private shed = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 10_000_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1)
      throw new RangeError('maxKeys must be an integer >= 1');
    this.maxBytes = options.maxBytes ?? defaultMaxBytes();
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < 1)
      throw new RangeError('maxBytes must be an integer >= 1');
    this.whenFull = options.whenFull ?? 'evict';
    if (!['evict', 'refuse'].includes(this.whenFull))
      throw new RangeError('whenFull must be evict or refuse');
    this.onPressure = options.onPressure ?? (() => undefined);
    const sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    this.leases = new LeaseTable(() => this.clock.nowUs(), sweepIntervalMs);
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => {
        this.sweepSome(SWEEP_BATCH);
      }, sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  check(check: Check): Promise<Outcome> {
    try {
      return Promise.resolve(this.checkNow(check));
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  checkMany(checks: readonly Check[]): Promise<Outcome[]> {
    try {
      const nowUs = this.now();
      // Room for every new counter first, so the batch is refused whole or not at all.
      this.makeRoomForAll(checks.map((check) => ({ check, counter: this.find(check) })));
      return Promise.resolve(checks.map((check) => this.checkAt(check, nowUs, true)));
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  checkAll(checks: readonly Check[]): Promise<Outcome[]> {
    try {
      const nowUs = this.now();
      const evaluated = checks.map((check) => {
        const counter = this.live(check, nowUs);
        const algorithm = algorithmFor(check.algorithm);
        return { check, counter, algorithm, evaluation: algorithm.evaluate(counter?.state, check, nowUs) };
      });
      const admitted = evaluated.every(({ evaluation }) => evaluation.allowed);
      // All or none: room for every new counter is made before the first is recorded.
      if (admitted) this.makeRoomForAll(evaluated.map(({ check, counter }) => ({ check, counter })));
      return Promise.resolve(
        evaluated.map(({ check, counter, algorithm, evaluation }) => {
          if (admitted && check.cost > 0) this.record(counter, check, algorithm, evaluation, nowUs, true);
          else this.touch(counter, check, evaluation, nowUs);
          return outcomeOf(evaluation, admitted);
        }),
      );
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  refund(check: Check): Promise<Outcome> {
    try {
      const nowUs = this.now();
      const algorithm = algorithmFor(check.algorithm);
      const counter = this.live(check, nowUs);
      if (counter) {
        const state = algorithm.refund(counter.state, check, nowUs);
        if (state === undefined) this.remove(counter);
        else this.store(counter, state, algorithm, check);
      }
      const look = algorithm.evaluate(counter?.state, { ...check, cost: 0 }, nowUs);
      return Promise.resolve(outcomeOf(look, look.allowed));
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  acquire(lease: LeaseAcquire): Promise<AcquireOutcome> {
    return this.answer(() => {
      const nowUs = this.now();
      const outcome = this.leases.acquire(lease, nowUs);
      if (outcome.leaseId === undefined || this.used() <= this.maxBytes) return outcome;
      // Past the bound: room is made by dropping expired lease sets, then counters. A live lease
      // is never evicted (that would over-admit); with no room, this one is given up at once.
      try {
        this.leases.sweep(EVICTION_SAMPLE);
        if (this.used() > this.maxBytes) this.makeRoom(0, 0, NOTHING);
      } catch (error) {
        this.leases.release({ key: lease.key, leaseId: outcome.leaseId }, nowUs);
        throw error;
      }
      return outcome;
    });
  }

  release(ref: LeaseRef): Promise<ReleaseOutcome> {
    return this.answer(() => this.leases.release(ref, this.now()));
  }

  renew(renewal: LeaseRenewal): Promise<RenewOutcome> {
    return this.answer(() => this.leases.renew(renewal, this.now()));
  }

  reset(counter: CounterRef): Promise<void> {
    try {
      this.assertOpen();
      const found = this.find(counter);
      if (found) this.remove(found);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  ping(): Promise<void> {
    return this.closed ? Promise.reject(closedError()) : Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.leases.close();
    this.counters.clear();
    this.count = 0;
    this.bytes = 0;
    this.hand = undefined;
    return Promise.resolve();
  }

  /** Drop every counter whose units have all left their window; returns how many went. */
  sweep(): number {
    return this.sweepSome(this.count);
  }

  stats(): MemoryStoreStats {
    return {
      counters: this.count,
      bytes: this.used(),
      leaseBytes: this.leases.bytes,
      maxBytes: this.maxBytes,
      evictions: this.evictions,
      shed: this.shed,
    };
  }

  /** A decision made in this process, as a promise: a throw becomes a rejection. */
  private answer<T>(decide: () => T): Promise<T> {
    try {
      return Promise.resolve(decide());
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /** Bytes held against the bound: counters and leases. */
  private used(): number {
    return this.bytes + this.leases.bytes;
  }

  private now(): number {
    this.assertOpen();
    return this.clock.nowUs();
  }

  checkNow(check: Check): Outcome {
    return this.checkAt(check, this.now());
  }

  private checkAt(check: Check, nowUs: number, roomMade = false): Outcome {
    const counter = this.live(check, nowUs);
    const algorithm = algorithmFor(check.algorithm);
    const evaluation = algorithm.evaluate(counter?.state, check, nowUs);
    if (evaluation.allowed && check.cost > 0)
      this.record(counter, check, algorithm, evaluation, nowUs, roomMade);
    else this.touch(counter, check, evaluation, nowUs);
    return outcomeOf(evaluation, evaluation.allowed);
  }

  /** The counter of `ref`, unless its units have all left the window (then it is dropped). */
  private live(ref: CounterRef, nowUs: number): Counter | undefined {
    const counter = this.find(ref);
    if (counter && counter.expiresAtUs <= nowUs) {
      this.remove(counter);
      return undefined;
    }
    return counter;
  }

  private find(ref: CounterRef): Counter | undefined {
    let counter = this.counters.get(ref.key);
    while (counter && (counter.algorithm !== ref.algorithm || counter.windowMs !== ref.windowMs)) {
      counter = counter.next;
    }
    return counter;
  }

  /** Spend an admitted check, creating its counter if it has none (room is made first). */
  private record(
    counter: Counter | undefined,
    check: Check,
    algorithm: Algorithm<unknown>,
    evaluation: Evaluation,
    nowUs: number,
    roomMade = false,
  ): void {
    const fill = evaluation.ifRecorded.count / check.limit;
    if (counter) {
      // A log that grew past the bound makes room by dropping others; with nothing left to drop
      // it is refused rather than let grow without end (room made: the batch made it already).
      if (!roomMade && this.used() + GROWTH_BYTES > this.maxBytes)
        this.makeRoom(0, GROWTH_BYTES, new Set([counter]));
      this.store(counter, algorithm.record(counter.state, check, nowUs), algorithm, check);
      counter.usedAtUs = nowUs;
      counter.fill = fill;
      return;
    }
    if (!roomMade) this.makeRoom(1, newCounterBytes(check), NOTHING);
    const state = algorithm.record(undefined, check, nowUs);
    const created: Counter = {
      key: check.key,
      algorithm: check.algorithm,
      windowMs: check.windowMs,
      state,
      expiresAtUs: algorithm.expiresAtUs(state, check),
      bytes: 0,
      fill,
      usedAtUs: nowUs,
      next: this.counters.get(check.key),
      gone: false,
    };
    this.counters.set(check.key, created);
    this.count++;
    this.store(created, state, algorithm, check);
  }

  /** A decision without a record still tells how full the counter is, and that it is in use. */
  private touch(counter: Counter | undefined, check: Check, evaluation: Evaluation, nowUs: number): void {
    if (!counter) return;
    counter.usedAtUs = nowUs;
    // A denied check means the counter is full for that cost: evicting it would hand quota back.
    counter.fill = evaluation.allowed ? evaluation.current.count / Math.max(1, check.limit) : 1;
  }

  private store(counter: Counter, state: unknown, algorithm: Algorithm<unknown>, check: Check): void {
    counter.state = state;
    counter.expiresAtUs = algorithm.expiresAtUs(state, check);
    // The key is counted with every counter of it: an estimate a little high for keys with several.
    const bytes = COUNTER_BYTES + algorithm.stateBytes(state) + keyBytes(counter.key);
    this.bytes += bytes - counter.bytes;
    counter.bytes = bytes;
  }

  private remove(counter: Counter): void {
    if (counter.gone) return;
    counter.gone = true;
    const first = this.counters.get(counter.key);
    if (first === counter) {
      if (counter.next) this.counters.set(counter.key, counter.next);
      else this.counters.delete(counter.key);
    } else {
      let before = first;
      while (before && before.next !== counter) before = before.next;
      if (before) before.next = counter.next;
    }
    this.count--;
    this.bytes -= counter.bytes;
  }

  /**
   * Make room for `adding` new counters of `addingBytes` (or for a counter that grew): expired
   * counters go first; then, with `evict`, the one of a sample whose loss hands back least; with
   * `refuse`, only counters that hold nothing. Counters in `keep` (the check's own, an atomic
   * batch's) are never taken. Throws OverloadedError, before anything is recorded, when no room
   * can be made as the policy allows.
   */
  private makeRoom(adding: number, addingBytes: number, keep: ReadonlySet<Counter>): void {
    const nowUs = this.clock.nowUs();
    while (this.count + adding > this.maxKeys || this.used() + addingBytes > this.maxBytes) {
      let victim: Counter | undefined;
      for (let looked = 0; looked < EVICTION_SAMPLE && looked < this.count; looked++) {
        const candidate = this.nextOnHand();
        if (!candidate || candidate.gone || keep.has(candidate)) continue;
        if (candidate.expiresAtUs <= nowUs || candidate.fill === 0) {
          victim = candidate;
          break;
        }
        if (!victim || harm(candidate) < harm(victim)) victim = candidate;
      }
      const harmless = victim !== undefined && (victim.expiresAtUs <= nowUs || victim.fill === 0);
      if (!victim || (!harmless && this.whenFull === 'refuse')) {
        this.shed++;
        this.onPressure('refused');
        throw new OverloadedError('the memory store is full of counters and leases that still count', 1000);
      }
      this.remove(victim);
      if (!harmless) {
        this.evictions++;
        this.onPressure('evicted');
      }
    }
  }

  /** Room for the new counters of a batch, keeping the counters it already has. */
  private makeRoomForAll(batch: readonly { check: Check; counter: Counter | undefined }[]): void {
    const created = batch.filter(({ check, counter }) => !counter && check.cost > 0);
    const keep = new Set(batch.flatMap(({ counter }) => (counter ? [counter] : [])));
    const bytes = created.reduce((total, { check }) => total + newCounterBytes(check), 0);
    this.makeRoom(created.length, bytes, keep);
  }

  /** The next counter under the hand, wrapping around; the hand survives additions and removals. */
  private nextOnHand(): Counter | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.hand ??= chains(this.counters);
      const next = this.hand.next();
      if (!next.done) return next.value;
      this.hand = undefined;
    }
    return undefined;
  }

  private sweepSome(limit: number): number {
    if (this.closed) return 0;
    const nowUs = this.clock.nowUs();
    let dropped = 0;
    const budget = Math.min(limit, this.count);
    for (let looked = 0; looked < budget; looked++) {
      const counter = this.nextOnHand();
      if (!counter) break;
      if (!counter.gone && counter.expiresAtUs <= nowUs) {
        this.remove(counter);
        dropped++;
      }
    }
    return dropped;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

const NOTHING: ReadonlySet<Counter> = new Set();

/** V8's young generation (three semi-spaces of 16 MB), which the heap limit includes and counters never live in. */
const YOUNG_GENERATION_BYTES = 48 * 1024 * 1024;

/**
 * The default bound: half of the old generation (the heap limit less the young generation), so
 * the rest of the process, the garbage between collections and the map's table while it grows
 * (twice its size for a moment) fit beside a full store at any heap size.
 */
export function defaultMaxBytes(): number {
  const limit = getHeapStatistics().heap_size_limit;
  return Math.floor(Math.max(limit / 4, (limit - YOUNG_GENERATION_BYTES) / 2));
}

/** What a new counter will hold, about: its object, its key, and a small state. */
function newCounterBytes(check: Check): number {
  return COUNTER_BYTES + keyBytes(check.key) + 64;
}

/** Evicting the fuller, more recently used counter hands back more. */
function harm(counter: Counter): number {
  return counter.fill * 1e18 + counter.usedAtUs / 1e3;
}

/** Every counter, chain by chain; a live iterator, so it sees the map as it changes. */
function* chains(counters: Map<string, Counter>): Generator<Counter> {
  for (const first of counters.values()) {
    for (let counter: Counter | undefined = first; counter; counter = counter.next) {
      if (!counter.gone) yield counter;
    }
  }
}

function closedError(): StoreUnavailableError {
  return new StoreUnavailableError('the memory store is closed');
}
