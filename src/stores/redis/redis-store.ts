import calculateSlot from 'cluster-key-slot';
import type { RedisOptions } from 'ioredis';
import { algorithmFor } from '../../core/algorithms/index.js';
import type { Clock } from '../../core/clock.js';
import { InvalidArgumentError, StoreUnavailableError } from '../../core/errors.js';
import type { Check, CounterRef, Outcome } from '../../core/types.js';
import type { Store } from '../store.js';
import { checkEachKeyInOrder } from './cluster-batch.js';
import { createRedisClient } from './connect.js';
import { isConnectionFault, isOfflineQueueRejection, redisUnavailable } from './redis-errors.js';
import { DEFAULT_KEY_PREFIX, counterKeys, validateKeyPrefix } from './keys.js';
import { defineScripts, scriptCall } from './scripts.js';
import type { RedisClient } from './scripts.js';

export interface RedisStoreOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, `rediss://...`, `redis+cluster://h1:p1,h2:p2` or
   * `redis+sentinel://h1:p1,h2:p2/<master>` (see parseRedisUrl). Ignored when `client` is given.
   */
  url?: string;
  /** An existing ioredis client (Redis or Cluster). The store does not close a client it did not create. */
  client?: RedisClient;
  /** Prefix of every key written. Default `ratelimit:`. */
  keyPrefix?: string;
  /** Bound on every store call, in ms, reconnect waits included. Default 50. */
  timeoutMs?: number;
  /** Kept after a counter's window before Redis expires it, in ms. Default 1000. */
  expiryGraceMs?: number;
  /** Drives script time explicitly instead of Redis TIME; for tests and simulations only. */
  clock?: Clock;
  /** Extra ioredis options for a client the store creates. */
  redisOptions?: RedisOptions;
}

/** Reconnect after 50 ms, doubling up to 2 s, with jitter so a fleet does not reconnect in step. */
function reconnectDelay(attempt: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** ioredis options that keep a rate-limit call bounded and never replay a check. */
export function boundedClientOptions(timeoutMs: number): RedisOptions {
  return {
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(1000, timeoutMs),
    // Fail fast while disconnected, and never resend a check after reconnecting: its caller has
    // already been answered, and a replay would spend units twice.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
    // ioredis swallows the replies to its CLIENT SETINFO (Redis < 7.2 refuses it anyway): a server
    // at maxclients answers that command first, and its real error would be lost.
    disableClientInfo: true,
  };
}

/** Counters in Redis: each check is one atomic Lua script, called by EVALSHA. */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly expiryGraceMs: number;
  private readonly clock: Clock | undefined;
  /** Set by close(): a closing Cluster sits in "disconnecting" for a while, which looks transient. */
  private closed = false;
  /** Shared by every call waiting for the connection attempt under way. */
  private nextReady: Promise<void> | undefined;
  private lastConnectionError: Error | undefined;
  /**
   * Set while the current connection's SELECT or AUTH failed: ioredis would go on in database 0,
   * or (after a refused AUTH, when the default user needs no password) as the default user.
   */
  private connectionFault: Error | undefined;

  constructor(options: RedisStoreOptions) {
    this.timeoutMs = options.timeoutMs ?? 50;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1)
      throw new RangeError('timeoutMs must be an integer >= 1');
    this.expiryGraceMs = options.expiryGraceMs ?? 1000;
    if (!Number.isInteger(this.expiryGraceMs) || this.expiryGraceMs < 0) {
      throw new RangeError('expiryGraceMs must be an integer >= 0');
    }
    this.keyPrefix = validateKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.clock = options.clock;
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else if (options.url !== undefined) {
      this.client = createRedisClient(
        options.url,
        { ...boundedClientOptions(this.timeoutMs), ...options.redisOptions },
        this.timeoutMs,
      );
      this.ownsClient = true;
    } else {
      throw new RangeError('RedisStore needs a url or a client');
    }
    // Errors surface on the calls, with the last connection error as their reason (a refused
    // connection, WRONGPASS, a certificate that does not verify); this listener also keeps ioredis
    // from logging every failed reconnect attempt.
    this.client.on('error', (error: Error) => {
      // "Stream isn't writeable" says only that there is no connection; keep the reason there is none.
      if (isOfflineQueueRejection(error)) return;
      this.lastConnectionError = error;
      if (isConnectionFault(error)) this.connectionFault = error;
    });
    // Each connection sends AUTH and SELECT again, after 'connect' and before 'ready'.
    this.client.on('connect', () => {
      this.connectionFault = undefined;
    });
    this.client.on('ready', () => {
      this.lastConnectionError = this.connectionFault;
    });
    defineScripts(this.client);
  }

  async check(check: Check): Promise<Outcome> {
    const reply = await this.bounded(() => scriptCall(this.client, 'check')(...this.checkArgs(check)));
    return parseOutcomes(reply, 1)[0] as Outcome;
  }

  /** Independent checks in one round trip (a pipeline); on a cluster, one call per check (see checkEachKeyInOrder). */
  async checkMany(checks: readonly Check[]): Promise<Outcome[]> {
    if (checks.length === 0) return [];
    if (this.client.isCluster) return checkEachKeyInOrder(checks, (check) => this.check(check));
    const results = await this.bounded(() => {
      const pipeline = this.client.pipeline();
      for (const check of checks) {
        // On a pipeline the call queues the command; its promise settles through exec().
        void scriptCall(pipeline, 'check')(...this.checkArgs(check));
      }
      return pipeline.exec();
    });
    return (results ?? []).map(([error, reply]) => {
      if (error) throw redisUnavailable('redis call failed', error, this.lastConnectionError);
      return parseOutcomes(reply, 1)[0] as Outcome;
    });
  }

  /** One script for the whole batch: all recorded or none. On a cluster the keys must share a slot. */
  async checkAll(checks: readonly Check[]): Promise<Outcome[]> {
    if (checks.length === 0) return [];
    const keys = checks.flatMap((check) => counterKeys(this.keyPrefix, check));
    if (this.client.isCluster && new Set(keys.map((key) => calculateSlot(key))).size > 1) {
      throw new InvalidArgumentError(
        'checks',
        'atomic checks on Redis Cluster must share one hash slot: use one key (its windows and algorithms may differ)',
      );
    }
    const args = checks.flatMap((check) => [
      algorithmFor(check.algorithm).shortName,
      check.limit,
      check.windowMs * 1000,
      check.cost,
    ]);
    const reply = await this.bounded(() =>
      scriptCall(this.client, 'check-all')(keys.length, ...keys, this.now(), this.expiryGraceMs, ...args),
    );
    return parseOutcomes(reply, checks.length);
  }

  async reset(counter: CounterRef): Promise<void> {
    await this.bounded(() => this.client.del(...counterKeys(this.keyPrefix, counter)));
  }

  async ping(): Promise<void> {
    await this.bounded(() => this.client.ping());
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.bounded(() => this.client.quit());
    } catch {
      // Unreachable or slow: drop the connection instead of waiting.
    } finally {
      this.closed = true;
      this.client.disconnect();
    }
  }

  /**
   * Run one store call within the timeout, waiting for a (re)connection inside the same budget.
   * Every failure becomes a StoreUnavailableError: the caller learns nothing about the counter.
   */
  private async bounded<T>(call: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let expired = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(
          new StoreUnavailableError(`redis did not answer within ${this.timeoutMs}ms`, { reason: 'timeout' }),
        );
      }, this.timeoutMs);
    });
    const attempt = async (): Promise<T> => {
      await this.whenReady();
      // A caller that already had its timeout must not have its check run (and spend) later.
      if (expired) {
        throw new StoreUnavailableError('redis connected after the call timed out', { reason: 'timeout' });
      }
      return call();
    };
    try {
      return await Promise.race([attempt(), timeout]);
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw redisUnavailable('redis call failed', error, this.lastConnectionError);
    } finally {
      clearTimeout(timer);
    }
  }

  private checkArgs(check: Check): (string | number)[] {
    const keys = counterKeys(this.keyPrefix, check);
    return [
      keys.length,
      ...keys,
      this.now(),
      this.expiryGraceMs,
      algorithmFor(check.algorithm).shortName,
      check.limit,
      check.windowMs * 1000,
      check.cost,
    ];
  }

  /** The script's time: explicit under an injected clock, else "" so the script reads Redis TIME. */
  private now(): number | string {
    return this.clock ? this.clock.nowUs() : '';
  }

  /** Resolves when the client is ready; waiters share one listener however many calls wait. */
  private whenReady(): Promise<void> {
    const { status } = this.client;
    // Counters in another database than the URL names would be wrong for every node: refuse.
    if (status === 'ready' && this.connectionFault) {
      return Promise.reject(redisUnavailable('redis is unusable', this.connectionFault));
    }
    if (status === 'ready') return Promise.resolve();
    if (status === 'end' || status === 'close' || this.closed) {
      return Promise.reject(
        new StoreUnavailableError('the redis connection is closed', { reason: 'closed' }),
      );
    }
    if (status === 'reconnecting') {
      // Known to be down and waiting out its backoff: fail now rather than spend the caller's
      // budget on a connection that cannot come sooner. A connection attempt under way is waited for.
      return Promise.reject(this.unreachable('redis is unreachable (reconnecting)'));
    }
    if (status === 'wait') void this.client.connect().catch(() => undefined);
    // Settles with the connection attempt under way: ready, or failed (the client then waits out
    // its backoff, or gives up), so a caller never waits longer than the attempt itself.
    this.nextReady ??= new Promise<void>((resolve, reject) => {
      const settle = (error?: StoreUnavailableError) => {
        this.client.off('ready', onReady);
        this.client.off('reconnecting', onFailed);
        this.client.off('end', onFailed);
        this.nextReady = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => {
        settle(
          this.connectionFault ? redisUnavailable('redis is unusable', this.connectionFault) : undefined,
        );
      };
      const onFailed = () => {
        settle(this.unreachable('redis is unreachable'));
      };
      this.client.once('ready', onReady);
      this.client.once('reconnecting', onFailed);
      this.client.once('end', onFailed);
    });
    return this.nextReady;
  }

  private unreachable(what: string): StoreUnavailableError {
    if (!this.lastConnectionError) return new StoreUnavailableError(what, { reason: 'unreachable' });
    return redisUnavailable(what, this.lastConnectionError);
  }
}

/** Four integers per check: allowed (1|0), count, retry after (µs), reset after (µs). */
function parseOutcomes(reply: unknown, checks: number): Outcome[] {
  if (
    !Array.isArray(reply) ||
    reply.length !== checks * 4 ||
    !reply.every((value) => typeof value === 'number')
  ) {
    throw new StoreUnavailableError(
      `unexpected script reply: ${JSON.stringify(reply).slice(0, 100)} (a script of another version?)`,
      { reason: 'script_error' },
    );
  }
  const values = reply;
  return Array.from({ length: checks }, (_, i) => ({
    allowed: values[i * 4] === 1,
    count: values[i * 4 + 1] ?? 0,
    retryAfterUs: values[i * 4 + 2] ?? 0,
    resetAfterUs: values[i * 4 + 3] ?? 0,
  }));
}
