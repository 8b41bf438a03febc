import type { AlgorithmName } from '../../core/algorithms/index.js';
import { validateWindowMs } from '../../core/duration.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Check, Decision } from '../../core/types.js';
import { unaffordable, validateAlgorithm, validateKey, validateLimit } from '../../core/validate.js';
import type { AdapterLimiter } from './limiter.js';

/** How every peer store (express-rate-limit, hono-rate-limiter, @fastify/rate-limit, Nest) is built. */
export interface PeerStoreOptions {
  /** A RateLimiter over any store: memory, Redis, Cluster, Sentinel, the service client. */
  limiter: AdapterLimiter;
  /** Default `sliding-window-log` (exact). */
  algorithm?: AlgorithmName;
  /** Prepended to every key, so that limiters sharing one Redis never share counters. */
  prefix?: string;
}

/** One hit as the peers count it: `totalHits` above the limit means "limit this request". */
export interface Hit {
  allowed: boolean;
  /** Units in the window after this hit, plus one when it was denied (nothing was recorded). */
  totalHits: number;
  /** When the limit stops binding: the wait before a retry can pass when denied, else until the window is empty. */
  waitMs: number;
  decision: Decision;
}

/**
 * The peers count every request and compare the count to the limit; we admit or deny atomically
 * and record only what was admitted. A denied hit is reported as `count + 1`, so the peer's own
 * `totalHits > limit` test denies it, its headers and its 429 stay as they were, and a retry
 * never extends a lockout.
 */
export class PeerCounter {
  readonly algorithm: AlgorithmName;
  readonly prefix: string;
  private readonly limiter: AdapterLimiter;

  constructor(options: PeerStoreOptions, defaultPrefix: string) {
    if (typeof options !== 'object' || typeof options.limiter.decide !== 'function') {
      throw new InvalidArgumentError('limiter', 'the store needs { limiter: a RateLimiter }');
    }
    this.limiter = options.limiter;
    this.algorithm = validateAlgorithm(options.algorithm);
    this.prefix = options.prefix ?? defaultPrefix;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<Hit> {
    const check = this.counter(key, limit, windowMs, 1);
    if (limit === 0) {
      // Nothing can ever pass; a unit check would be refused as costing more than the limit.
      return { allowed: false, totalHits: 1, waitMs: windowMs, decision: unaffordable(check) };
    }
    const decision = await this.limiter.decide(check);
    if (decision.allowed) {
      // A degraded admit counted nothing; the peers expect at least this hit.
      return {
        allowed: true,
        totalHits: Math.max(1, decision.count),
        waitMs: decision.resetAfterMs,
        decision,
      };
    }
    return {
      allowed: false,
      totalHits: Math.max(limit, decision.count) + 1,
      waitMs: decision.retryAfterMs,
      decision,
    };
  }

  /** Give one unit back (the peers' `decrement`): never below zero, never one that left the window. */
  async giveBack(key: string, limit: number, windowMs: number): Promise<Decision> {
    return this.limiter.refundCheck(this.counter(key, limit, windowMs, limit === 0 ? 0 : 1));
  }

  read(key: string, limit: number, windowMs: number): Promise<Decision> {
    return this.limiter.peekCheck(this.counter(key, limit, windowMs, 0));
  }

  reset(key: string, windowMs: number): Promise<void> {
    const { algorithm } = this;
    return this.limiter.resetCounter({
      key: this.keyOf(key),
      windowMs: validateWindowMs(windowMs),
      algorithm,
    });
  }

  /** What the peer passed, validated once: its key under our prefix, its limit and window. */
  private counter(key: string, limit: number, windowMs: number, cost: number): Check {
    return {
      key: this.keyOf(key),
      limit: validateLimit(limit),
      windowMs: validateWindowMs(windowMs),
      cost,
      algorithm: this.algorithm,
    };
  }

  private keyOf(key: string): string {
    return validateKey(this.prefix + key);
  }
}

/** How long a denied hit waits for the decrement its peer may send for it. */
const DENIAL_MEMORY_MS = 10_000;
/** Keys with denials awaiting a decrement; past it the oldest are forgotten. */
const MAX_DENIAL_KEYS = 10_000;

/**
 * express-rate-limit and hono-rate-limiter call `decrement` for a denied request too when
 * skipFailedRequests (a 429 is a failure) or skipSuccessfulRequests says so. A denied hit recorded
 * nothing (nor did an admit a failure mode made without the store), so its decrement must not give
 * back a unit another request spent: each uncounted hit absorbs one decrement of its key that
 * arrives within DENIAL_MEMORY_MS.
 */
export class DenialLedger {
  private readonly pending = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  note(key: string): void {
    const deadlines = this.live(key) ?? [];
    deadlines.push(this.now() + DENIAL_MEMORY_MS);
    this.pending.delete(key);
    this.pending.set(key, deadlines);
    if (this.pending.size > MAX_DENIAL_KEYS) {
      const oldest = this.pending.keys().next();
      if (oldest.done !== true) this.pending.delete(oldest.value);
    }
  }

  /** True when a decrement of `key` belongs to a denied hit (and is used up by it). */
  absorb(key: string): boolean {
    const deadlines = this.live(key);
    if (!deadlines || deadlines.length === 0) return false;
    deadlines.shift();
    if (deadlines.length === 0) this.pending.delete(key);
    return true;
  }

  private live(key: string): number[] | undefined {
    const deadlines = this.pending.get(key);
    if (!deadlines) return undefined;
    const now = this.now();
    const alive = deadlines.filter((deadline) => deadline > now);
    if (alive.length === 0) {
      this.pending.delete(key);
      return undefined;
    }
    this.pending.set(key, alive);
    return alive;
  }
}
