import calculateSlot from 'cluster-key-slot';
import type { RedisOptions } from 'ioredis';
import type { Clock } from '../../core/clock.js';
import { InvalidArgumentError, StoreUnavailableError } from '../../core/errors.js';
import type { Check, CounterRef, Outcome } from '../../core/types.js';
import type {
  AcquireOutcome,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  ReleaseOutcome,
  RenewOutcome,
} from '../../core/leases.js';
import type { OutcomeSink, Store, StoreStats } from '../store.js';
import { DenyCache } from '../deny-cache.js';
import { CheckCoalescer, DEFAULT_COALESCER_LIMITS } from '../check-coalescer.js';
import type { CoalescerLimits } from '../check-coalescer.js';
import { RedisConnection } from './connection.js';
import { DEFAULT_KEY_PREFIX, counterKey, validateKeyPrefix } from './keys.js';
import { SCRIPTS } from './scripts.js';
import { RedisLeaseCalls } from './lease-calls.js';
import type { RedisClient } from './connect.js';
import { checkCall, mixedCall } from './script-call.js';
import type { ScriptCall } from './script-call.js';
import type { ScriptArg } from './scripts.js';

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
  /** Told how long each Redis call took, answered or failed (seconds): for a latency histogram. */
  onCallDuration?: (seconds: number) => void;
  /**
   * Answer repeated denials from this node's memory until they lapse (see DenyCache): a check of
   * a counter that denied the same cost under the same limit is denied without a store call. Off by default; `true` keeps up to 100,000 denials, or give `{ maxEntries }`.
   * Resets and refunds drop the entry on every node through Redis pub/sub.
   */
  denyCache?: boolean | { maxEntries?: number };
}

/** What a RedisStore has seen (every field of StoreStats but the in-process ones). */
export type RedisStoreStats = Required<Omit<StoreStats, 'counters' | 'evictions'>>;

/** Time for the deny cache when no clock is injected: monotonic, in µs. */
const monotonicClock: Clock = { nowUs: () => performance.now() * 1000 };

/** A Cluster's checks go in one script call per slot: a script may only touch keys of one slot. */
const CLUSTER_MAX_IN_FLIGHT = 64;

/**
 * Counters in Redis. Checks issued together are coalesced into one script call per algorithm (and
 * per slot on a Cluster), each check atomic on its own, called by EVALSHA; lease calls likewise,
 * one script call per operation (and slot).
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly connection: RedisConnection;
  private readonly keyPrefix: string;
  private readonly expiryGraceMs: number;
  private readonly clock: Clock | undefined;
  private readonly coalescer: CheckCoalescer;
  private readonly leases: RedisLeaseCalls;
  private lateAdmittedUnits = 0;
  /** Invalidations this node could not publish, or a subscription that could not be made. */
  private invalidationFailures = 0;
  private readonly denials: DenyCache | undefined;
  private readonly invalidations: RedisClient | undefined;

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
      ...(options.onCallDuration ? { onCallDuration: options.onCallDuration } : {}),
    });
    const cluster = this.connection.isCluster;
    // Checks and lease calls each get a coalescer with these bounds.
    const limits: CoalescerLimits = {
      maxBatch: options.maxBatch ?? DEFAULT_COALESCER_LIMITS.maxBatch,
      maxInFlight:
        options.maxInFlight ?? (cluster ? CLUSTER_MAX_IN_FLIGHT : DEFAULT_COALESCER_LIMITS.maxInFlight),
      // On a Cluster most calls carry the few checks of one slot: they are not held back.
      maxPartialInFlight:
        options.maxPartialInFlight ??
        (cluster ? CLUSTER_MAX_IN_FLIGHT : DEFAULT_COALESCER_LIMITS.maxPartialInFlight),
      maxQueued: options.maxQueued ?? DEFAULT_COALESCER_LIMITS.maxQueued,
      queueTimeoutMs: options.queueTimeoutMs ?? DEFAULT_COALESCER_LIMITS.queueTimeoutMs,
    };
    this.coalescer = new CheckCoalescer(limits, {
      remote: 'redis',
      groupOf: cluster
        ? (check) => `${check.algorithm}:${calculateSlot(this.key(check))}`
        : (check) => check.algorithm,
      send: (checks) => this.sendChecks(checks),
      storeIsSlow: () => this.connection.timedOutRecently(1000),
    });
    this.leases = new RedisLeaseCalls(
      this.connection,
      this.keyPrefix,
      this.expiryGraceMs,
      this.clock,
      limits,
      (units) => {
        this.lateAdmittedUnits += units;
      },
    );
    if (options.denyCache) {
      const maxEntries = options.denyCache === true ? undefined : options.denyCache.maxEntries;
      this.denials = new DenyCache(maxEntries ?? 100_000);
      this.invalidations = this.subscribeToInvalidations(this.denials);
    }
  }

  get client(): RedisClient {
    return this.connection.client;
  }

  check(check: Check): Promise<Outcome> {
    return this.denials ? this.checkRemembering(this.denials, check) : this.coalescer.submit(check);
  }

  checkInto<T>(check: Check, sink: OutcomeSink<T>): Promise<T> {
    if (!this.denials) return this.coalescer.submitInto(check, sink);
    return this.checkRemembering(this.denials, check).then(
      (outcome) => sink.answered(check, outcome),
      (error: unknown) => sink.failed(check, error),
    );
  }

  /** Independent checks, coalesced like single ones: one script call when they share an algorithm. */
  checkMany(checks: readonly Check[]): Promise<Outcome[]> {
    return Promise.all(checks.map((check) => this.check(check)));
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
    const call = mixedCall(this.keyPrefix, this.now(), this.expiryGraceMs, checks);
    const reply = await this.connection.run(() => SCRIPTS.checkAll.run(this.client, call), {
      onLateReply: (late) => {
        this.countLateAdmissions(checks, late);
      },
    });
    return parseOutcomes(reply, checks.length);
  }

  async refund(check: Check): Promise<Outcome> {
    const call = mixedCall(this.keyPrefix, this.now(), this.expiryGraceMs, [check]);
    const reply = await this.connection.run(() => SCRIPTS.refund.run(this.client, call));
    await this.invalidate(this.key(check));
    return parseOutcomes(reply, 1)[0] as Outcome;
  }

  acquire(lease: LeaseAcquire): Promise<AcquireOutcome> {
    return this.leases.acquire(lease);
  }

  release(ref: LeaseRef): Promise<ReleaseOutcome> {
    return this.leases.release(ref);
  }

  renew(renewal: LeaseRenewal): Promise<RenewOutcome> {
    return this.leases.renew(renewal);
  }

  async reset(counter: CounterRef): Promise<void> {
    const key = this.key(counter);
    await this.connection.run(() => this.client.del(key));
    await this.invalidate(key);
  }

  async ping(): Promise<void> {
    await this.connection.run(() => this.client.ping());
  }

  async close(): Promise<void> {
    this.invalidations?.disconnect();
    await this.connection.close();
  }

  stats(): RedisStoreStats {
    const checks = this.coalescer.stats();
    const leases = this.leases.stats();
    return {
      queued: checks.queued + leases.queued,
      inFlight: checks.inFlight + leases.inFlight,
      shed: checks.shed + leases.shed,
      ...this.connection.stats(),
      lateAdmittedUnits: this.lateAdmittedUnits,
      denyCacheHits: this.denials?.stats().hits ?? 0,
      invalidationFailures: this.invalidationFailures,
    };
  }

  private get cacheClock(): Clock {
    return this.clock ?? monotonicClock;
  }

  /** A check answered from a remembered denial when one covers it, else by Redis (and remembered). */
  private async checkRemembering(denials: DenyCache, check: Check): Promise<Outcome> {
    const key = this.key(check);
    const sentAtUs = this.cacheClock.nowUs();
    const remembered = denials.lookup(key, check, sentAtUs);
    if (remembered) return remembered;
    const mark = denials.mark;
    const outcome = await this.coalescer.submit(check);
    denials.remember(key, check, outcome, sentAtUs, mark);
    return outcome;
  }

  /**
   * After a reset or a refund, a remembered denial of that counter may be wrong: drop it here and
   * tell every node. A node that misses the message (its subscription was down) clears all its
   * denials when it subscribes again. Published whether or not this store has the cache: another
   * node may (a rolling enable, `ratelimiter reset --redis`), and one PUBLISH per reset or refund
   * costs nothing beside the script it follows.
   */
  private async invalidate(key: string): Promise<void> {
    this.denials?.forget(key);
    // Best effort: the reset or refund itself is done, and failing it now would make its caller
    // retry and spend (or refund) twice. Other nodes' remembered denials then lapse on their own.
    try {
      await this.connection.run(() => this.client.publish(this.invalidationChannel, key));
    } catch {
      this.invalidationFailures++;
    }
  }

  private get invalidationChannel(): string {
    return `${this.keyPrefix}invalidations`;
  }

  private subscribeToInvalidations(denials: DenyCache): RedisClient {
    const subscriber = this.client.duplicate();
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, key: string) => {
      denials.forget(key);
    });
    subscriber.on('ready', () => {
      denials.clear();
      subscriber.subscribe(this.invalidationChannel).catch(() => {
        // Without the subscription this node would keep denials another node reset: keep none.
        this.invalidationFailures++;
        this.denials?.disable();
      });
    });
    return subscriber;
  }

  /** One script call for checks of one algorithm (and one slot on a Cluster), in order. */
  private async sendChecks(checks: readonly Check[]): Promise<Outcome[]> {
    const first = checks[0];
    if (!first) return [];
    const script = SCRIPTS.check[first.algorithm];
    const call = this.checkCall(checks);
    const reply = await this.connection.run(() => script.run(this.client, call), {
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

  /** The check script's call for checks of one algorithm (the raw bench driver sends the same). */
  private checkCall(checks: readonly Check[]): ScriptCall {
    return checkCall(this.keyPrefix, this.now(), this.expiryGraceMs, checks);
  }

  private key(counter: CounterRef): string {
    return counterKey(this.keyPrefix, counter);
  }

  /** The script's time: explicit under an injected clock, else "" so the script reads Redis TIME. */
  private now(): ScriptArg {
    return this.clock ? this.clock.nowUs() : '';
  }
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
