import { algorithmFor, outcomeOf } from '../../core/algorithms/index.js';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/clock.js';
import { StoreUnavailableError } from '../../core/errors.js';
import type { Check, CounterRef, Outcome } from '../../core/types.js';
import type { Store } from '../store.js';
import { LruMap } from './lru-map.js';

export interface MemoryStoreOptions {
  /** Time source; defaults to the process clock. */
  clock?: Clock;
  /** Most counters kept at once; past it the least recently used counter is evicted. Default 1,000,000. */
  maxKeys?: number;
  /** How often expired counters are swept; 0 disables the timer (they are still dropped on access). Default 10 s. */
  sweepIntervalMs?: number;
}

interface Counter {
  state: unknown;
  expiresAtUs: number;
}

export interface MemoryStoreStats {
  /** Counters held. */
  counters: number;
  /** Counters dropped to stay within the bound before their window passed. */
  evictions: number;
}

/**
 * Counters in this process, with the same semantics as the Redis store. A check runs
 * synchronously between awaits, so it is atomic within the process.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly counters = new LruMap<Counter>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private evictions = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 1_000_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1)
      throw new RangeError('maxKeys must be an integer >= 1');
    const sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => {
        this.sweep();
      }, sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  check(check: Check): Promise<Outcome> {
    return settle(() => this.checkNow(check));
  }

  checkMany(checks: readonly Check[]): Promise<Outcome[]> {
    return settle(() => checks.map((check) => this.checkNow(check)));
  }

  checkAll(checks: readonly Check[]): Promise<Outcome[]> {
    return settle(() => {
      this.assertOpen();
      const nowUs = this.clock.nowUs();
      const evaluations = checks.map((check) => this.evaluate(check, nowUs));
      const admitted = evaluations.every(({ evaluation }) => evaluation.allowed);
      return evaluations.map(({ check, evaluation }) => {
        if (admitted) this.record(check, nowUs);
        return outcomeOf(evaluation, admitted);
      });
    });
  }

  refund(check: Check): Promise<Outcome> {
    return settle(() => {
      this.assertOpen();
      const nowUs = this.clock.nowUs();
      const algorithm = algorithmFor(check.algorithm);
      const id = counterId(check);
      const counter = this.live(id, nowUs);
      if (counter) {
        const state = algorithm.refund(counter.state, check, nowUs);
        if (state === undefined) this.counters.delete(id);
        else this.counters.set(id, { state, expiresAtUs: algorithm.expiresAtUs(state, check) });
      }
      const look = algorithm.evaluate(this.counters.get(id)?.state, { ...check, cost: 0 }, nowUs);
      return outcomeOf(look, look.allowed);
    });
  }

  reset(counter: CounterRef): Promise<void> {
    return settle(() => {
      this.assertOpen();
      this.counters.delete(counterId(counter));
    });
  }

  ping(): Promise<void> {
    return settle(() => {
      this.assertOpen();
    });
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.counters.clear();
    return Promise.resolve();
  }

  /** Drop every counter whose units have all left their window. */
  sweep(): number {
    const nowUs = this.clock.nowUs();
    let dropped = 0;
    for (const [id, counter] of this.counters) {
      if (counter.expiresAtUs <= nowUs) {
        this.counters.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  stats(): MemoryStoreStats {
    return { counters: this.counters.size, evictions: this.evictions };
  }

  private checkNow(check: Check): Outcome {
    this.assertOpen();
    const nowUs = this.clock.nowUs();
    const { evaluation } = this.evaluate(check, nowUs);
    if (evaluation.allowed) this.record(check, nowUs);
    return outcomeOf(evaluation, evaluation.allowed);
  }

  private evaluate(check: Check, nowUs: number) {
    const counter = this.live(counterId(check), nowUs);
    return { check, evaluation: algorithmFor(check.algorithm).evaluate(counter?.state, check, nowUs) };
  }

  /** The counter, unless its units have all left the window (then it is dropped). */
  private live(id: string, nowUs: number): Counter | undefined {
    // get() also marks the counter as just used, for least-recently-used eviction.
    const counter = this.counters.get(id);
    if (counter && counter.expiresAtUs <= nowUs) {
      this.counters.delete(id);
      return undefined;
    }
    return counter;
  }

  /** Spend an evaluated, admitted check. */
  private record(check: Check, nowUs: number): void {
    if (check.cost === 0) return;
    const algorithm = algorithmFor(check.algorithm);
    const id = counterId(check);
    const state = algorithm.record(this.counters.get(id)?.state, check, nowUs);
    this.counters.set(id, { state, expiresAtUs: algorithm.expiresAtUs(state, check) });
    this.evictOverflow();
  }

  private evictOverflow(): void {
    while (this.counters.size > this.maxKeys) {
      const oldest = this.counters.oldestKey();
      if (oldest === undefined) return;
      this.counters.delete(oldest);
      this.evictions++;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the memory store is closed');
  }
}

function counterId(counter: CounterRef): string {
  // NUL cannot be confused with the parts around it: algorithm names and windows never contain it.
  return `${counter.algorithm}\u0000${counter.windowMs}\u0000${counter.key}`;
}

/** Run synchronous work behind the Store's promise interface; a throw becomes a rejection. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(work());
  });
}
