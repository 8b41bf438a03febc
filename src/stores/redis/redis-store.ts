import calculateSlot from 'cluster-key-slot';
import type { RedisOptions } from 'ioredis';
import { algorithmFor } from '../../core/algorithms/index.js';
import type { Clock } from '../../core/clock.js';
import { InvalidArgumentError, StoreUnavailableError } from '../../core/errors.js';
import type { Check, CounterRef, Outcome } from '../../core/types.js';
import type { Store } from '../store.js';
import { CheckCoalescer, DEFAULT_COALESCER_LIMITS } from './check-coalescer.js';
import type { CoalescerLimits } from './check-coalescer.js';
import { RedisConnection } from './connection.js';
import { DEFAULT_KEY_PREFIX, counterKey, validateKeyPrefix } from './keys.js';
import { SCRIPTS } from './scripts.js';
import type { RedisClient, ScriptArg } from './scripts.js';

export interface RedisStoreOptions extends Partial<CoalescerLimits> {
  /**
   * `redis://[user:password@]host:port[/db]`, `rediss://...`, `redis+cluster://h1:p1,h2:p2` or
   * `redis+sentinel://h1:p1,h2:p2/<master>` (see parseRedisUrl). Ignored when `client` is given.
   */
  url?: string;
  /** An existing ioredis client (Redis or Cluster). The store does not close a client it did not create. */
  client?: RedisClient;
  /** Prefix of every key written. Default `ratelimit:`. */
  keyPrefix?: string;
  /** Bound on every store call while it waits on Redis, in ms, reconnect waits included. Default 50. */
  timeoutMs?: number;
  /** Kept after a counter's window before Redis expires it, in ms. Default 1000. */
  expiryGraceMs?: number;
  /** Drives script time explicitly instead of Redis TIME; for tests and simulations only. */
  clock?: Clock;
  /** Extra ioredis options for a client the store creates. */
  redisOptions?: RedisOptions;
}

/** What a RedisStore has seen, for metrics. */
export interface RedisStoreStats {
  /** Checks waiting for a place in a script call. */
  queued: number;
  /** Script calls waiting on Redis. */
  inFlight: number;
  /** Checks refused because too many were waiting (overloaded). */
  shed: number;
  /** Calls that timed out waiting on Redis. */
  timeouts: number;
  /** Replies that came after their call had timed out. */
  lateReplies: number;
  /** Units recorded by checks whose callers had been told the call timed out. */
  lateAdmittedUnits: number;
}

/** A Cluster's checks go in one script call per slot: a script may only touch keys of one slot. */
const CLUSTER_MAX_IN_FLIGHT = 64;

/**
 * Counters in Redis. Checks issued together are coalesced into one script call per algorithm (and
 * per slot on a Cluster), each check atomic on its own, called by EVALSHA.
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly connection: RedisConnection;
  private readonly keyPrefix: string;
  private readonly expiryGraceMs: number;
  private readonly clock: Clock | undefined;
  private readonly coalescer: CheckCoalescer;
  private lateAdmittedUnits = 0;

  constructor(options: RedisStoreOptions) {
    this.expiryGraceMs = options.expiryGraceMs ?? 1000;
    if (!Number.isInteger(this.expiryGraceMs) || this.expiryGraceMs < 0) {
      throw new RangeError('expiryGraceMs must be an integer >= 0');
    }
    this.keyPrefix = validateKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.clock = options.clock;
    this.connection = new RedisConnection({
      timeoutMs: options.timeoutMs ?? 50,
      ...(options.client ? { client: options.client } : {}),
      ...(options.url === undefined ? {} : { url: options.url }),
      ...(options.redisOptions ? { redisOptions: options.redisOptions } : {}),
    });
    const cluster = this.connection.isCluster;
    this.coalescer = new CheckCoalescer(
      {
        maxBatch: options.maxBatch ?? DEFAULT_COALESCER_LIMITS.maxBatch,
        maxInFlight:
          options.maxInFlight ?? (cluster ? CLUSTER_MAX_IN_FLIGHT : DEFAULT_COALESCER_LIMITS.maxInFlight),
        maxQueued: options.maxQueued ?? DEFAULT_COALESCER_LIMITS.maxQueued,
        queueTimeoutMs: options.queueTimeoutMs ?? DEFAULT_COALESCER_LIMITS.queueTimeoutMs,
      },
      {
        groupOf: cluster
          ? (check) => `${check.algorithm}:${calculateSlot(this.key(check))}`
          : (check) => check.algorithm,
        send: (checks) => this.sendChecks(checks),
        storeIsSlow: () => this.connection.timedOutRecently(1000),
      },
    );
  }

  get client(): RedisClient {
    return this.connection.client;
  }

  check(check: Check): Promise<Outcome> {
    return this.coalescer.submit(check);
  }

  /** Independent checks, coalesced like single ones: one script call when they share an algorithm. */
  checkMany(checks: readonly Check[]): Promise<Outcome[]> {
    return Promise.all(checks.map((check) => this.coalescer.submit(check)));
  }

  /** One script for the whole batch: all recorded or none. On a cluster the keys must share a slot. */
  async checkAll(checks: readonly Check[]): Promise<Outcome[]> {
    if (checks.length === 0) return [];
    const keys = checks.map((check) => this.key(check));
    if (this.connection.isCluster && new Set(keys.map((key) => calculateSlot(key))).size > 1) {
      throw new InvalidArgumentError(
        'checks',
        'atomic checks on Redis Cluster must share one hash slot: use one key (its windows and algorithms may differ)',
      );
    }
    const args = encodeArgs(this.now(), this.expiryGraceMs, checks, true);
    const reply = await this.connection.run(() => SCRIPTS.checkAll.run(this.client, keys, args), {
      onLateReply: (late) => {
        this.countLateAdmissions(checks, late);
      },
    });
    return parseOutcomes(reply, checks.length);
  }

  async refund(check: Check): Promise<Outcome> {
    const args = encodeArgs(this.now(), this.expiryGraceMs, [check], true);
    const reply = await this.connection.run(() => SCRIPTS.refund.run(this.client, [this.key(check)], args));
    return parseOutcomes(reply, 1)[0] as Outcome;
  }

  async reset(counter: CounterRef): Promise<void> {
    await this.connection.run(() => this.client.del(this.key(counter)));
  }

  async ping(): Promise<void> {
    await this.connection.run(() => this.client.ping());
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  stats(): RedisStoreStats {
    return {
      ...this.coalescer.stats(),
      ...this.connection.stats(),
      lateAdmittedUnits: this.lateAdmittedUnits,
    };
  }

  /** One script call for checks of one algorithm (and one slot on a Cluster), in order. */
  private async sendChecks(checks: readonly Check[]): Promise<Outcome[]> {
    const first = checks[0];
    if (!first) return [];
    const script = SCRIPTS.check[first.algorithm];
    const keys = checks.map((check) => this.key(check));
    const args = encodeArgs(this.now(), this.expiryGraceMs, checks, false);
    const reply = await this.connection.run(() => script.run(this.client, keys, args), {
      onLateReply: (late) => {
        this.countLateAdmissions(checks, late);
      },
    });
    return parseOutcomes(reply, checks.length);
  }

  /** A call that timed out may still have run: what it admitted was spent without its caller knowing. */
  private countLateAdmissions(checks: readonly Check[], reply: unknown): void {
    try {
      parseOutcomes(reply, checks.length).forEach((outcome, i) => {
        if (outcome.allowed) this.lateAdmittedUnits += checks[i]?.cost ?? 0;
      });
    } catch {
      // A malformed late reply tells nothing more.
    }
  }

  private key(counter: CounterRef): string {
    return counterKey(this.keyPrefix, counter);
  }

  /** The script's time: explicit under an injected clock, else "" so the script reads Redis TIME. */
  private now(): ScriptArg {
    return this.clock ? this.clock.nowUs() : '';
  }
}

/**
 * The ARGV of every script: time, grace, then per check its limit, window (µs) and cost, led by
 * the algorithm's short name when one script serves several algorithms.
 */
function encodeArgs(
  now: ScriptArg,
  graceMs: number,
  checks: readonly Check[],
  withAlgorithm: boolean,
): ScriptArg[] {
  const args: ScriptArg[] = [now, graceMs];
  for (const check of checks) {
    if (withAlgorithm) args.push(algorithmFor(check.algorithm).shortName);
    args.push(check.limit, check.windowMs * 1000, check.cost);
  }
  return args;
}

/** Four integers per check: allowed (1|0), count, retry after (µs), reset after (µs). */
function parseOutcomes(reply: unknown, checks: number): Outcome[] {
  if (!Array.isArray(reply) || reply.length !== checks * 4) {
    throw new StoreUnavailableError(`unexpected script reply for ${checks} checks`);
  }
  const outcomes: Outcome[] = new Array<Outcome>(checks);
  for (let i = 0; i < checks; i++) {
    const at = i * 4;
    const allowed: unknown = reply[at];
    const count: unknown = reply[at + 1];
    const retryAfterUs: unknown = reply[at + 2];
    const resetAfterUs: unknown = reply[at + 3];
    if (typeof count !== 'number' || typeof retryAfterUs !== 'number' || typeof resetAfterUs !== 'number') {
      throw new StoreUnavailableError(`unexpected script reply for check ${i}`);
    }
    outcomes[i] = { allowed: allowed === 1, count, retryAfterUs, resetAfterUs };
  }
  return outcomes;
}
