import { InvalidArgumentError, OverloadedError, StoreUnavailableError } from '../../core/errors.js';
import { DenialLedger, PeerCounter } from './peer-counter.js';
import type { PeerStoreOptions } from './peer-counter.js';

/** What express-rate-limit (v7, v8) and hono-rate-limiter hand a store's `init`. */
export interface HitStoreInitOptions {
  windowMs: number;
  /** A number, or a function of the request (then the store's own `limit` option is the ceiling). */
  limit?: unknown;
  skipFailedRequests?: boolean;
  skipSuccessfulRequests?: boolean;
}

export interface HitStoreOptions extends PeerStoreOptions {
  /**
   * The limit to check against when the middleware's `limit` is a function of the request: every
   * hit is then recorded up to this ceiling and the middleware compares it to its own limit.
   */
  limit?: number;
}

/** `{ totalHits, resetTime }`: the peers' ClientRateLimitInfo. */
export interface ClientRateLimitInfo {
  totalHits: number;
  resetTime: Date | undefined;
}

/**
 * The store interface express-rate-limit and hono-rate-limiter share (init, get, increment,
 * decrement, resetKey), over our limiter. `resetAll` is not offered: no store of ours enumerates
 * its keys, and a reset of every client is better done by a new prefix.
 */
export class HitStore {
  /** Counters live in the limiter's store: shared across processes when it is Redis or the service. */
  readonly localKeys = false;
  readonly prefix: string;
  private readonly counter: PeerCounter;
  private readonly ceiling: number | undefined;
  private windowMs: number | undefined;
  private limit: number | undefined;
  private denials: DenialLedger | undefined;
  private refundsLost = 0;

  constructor(options: HitStoreOptions, defaultPrefix: string) {
    this.counter = new PeerCounter(options, defaultPrefix);
    this.prefix = this.counter.prefix;
    this.ceiling = options.limit;
  }

  init(options: HitStoreInitOptions): void {
    if (!Number.isInteger(options.windowMs) || options.windowMs < 1) {
      throw new InvalidArgumentError('windowMs', 'windowMs must be an integer >= 1');
    }
    this.windowMs = options.windowMs;
    if (typeof options.limit === 'number') this.limit = options.limit;
    else if (this.ceiling !== undefined) this.limit = this.ceiling;
    else {
      throw new InvalidArgumentError(
        'limit',
        'the middleware limit is a function: give the store a `limit` ceiling to count against',
      );
    }
    if (options.skipFailedRequests === true || options.skipSuccessfulRequests === true) {
      this.denials = new DenialLedger();
    }
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { limit, windowMs } = this.config();
    const decision = await this.counter.read(key, limit, windowMs);
    if (decision.count === 0) return undefined;
    return { totalHits: decision.count, resetTime: new Date(Date.now() + decision.resetAfterMs) };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { limit, windowMs } = this.config();
    const hit = await this.counter.hit(key, limit, windowMs);
    // Neither a denial nor a degraded admit was counted: their decrements must give nothing back.
    if (!hit.allowed || hit.decision.degraded === true) this.denials?.note(key);
    return { totalHits: hit.totalHits, resetTime: new Date(Date.now() + hit.waitMs) };
  }

  /** Decrements the store could not take (unreachable or overloaded): dropped, never thrown. */
  get lostRefunds(): number {
    return this.refundsLost;
  }

  async decrement(key: string): Promise<void> {
    if (this.denials?.absorb(key) === true) return;
    const { limit, windowMs } = this.config();
    try {
      await this.counter.giveBack(key, limit, windowMs);
    } catch (error) {
      // The response is the handler's: a refund the store could not take is lost (the unit stays
      // spent until the window passes), as a failure mode loses a check, and never becomes a 500.
      if (error instanceof StoreUnavailableError || error instanceof OverloadedError) {
        this.refundsLost++;
        return;
      }
      throw error;
    }
  }

  async resetKey(key: string): Promise<void> {
    await this.counter.reset(key, this.config().windowMs);
  }

  private config(): { limit: number; windowMs: number } {
    if (this.windowMs === undefined || this.limit === undefined) {
      throw new Error('the store is used before init(): pass it as the `store` option of the middleware');
    }
    return { limit: this.limit, windowMs: this.windowMs };
  }
}
