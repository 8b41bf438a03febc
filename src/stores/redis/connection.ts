import { ReplyError } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { RateLimiterError, StoreUnavailableError } from '../../core/errors.js';
import { createRedisClient } from './connect.js';
import { isConnectionFault, isOfflineQueueRejection, redisUnavailable } from './redis-errors.js';
import { DeadlineWatch } from '../deadline-watch.js';
import type { Deadline } from '../deadline-watch.js';
import type { RedisClient } from './connect.js';

/**
 * The one place that owns a Redis connection for the store and the node registry alike: client
 * options, readiness, reconnection, and bounded calls. A call's deadline runs only while the
 * call is waiting on Redis: time this process spent busy elsewhere (event-loop lag) is never
 * charged to the store, and a reply that has arrived is never reported as a timeout.
 */
export interface RedisConnectionOptions {
  /** Any Redis URL form (see parseRedisUrl). Ignored when `client` is given. */
  url?: string;
  /** An existing ioredis client (Redis or Cluster); it is left open on close(). */
  client?: RedisClient;
  /**
   * Bound on every call, in ms, waiting for a (re)connection included; a call with a longer bound
   * of its own (registry writes) still waits at most this long for a connection.
   */
  timeoutMs: number;
  /** Extra ioredis options for a client the connection creates. */
  redisOptions?: RedisOptions;
  /** Told how long each call took until it was answered or failed (seconds). */
  onCallDuration?: (seconds: number) => void;
}

export interface CallOptions<T> {
  /** This call's own bound, when it differs from the connection's (registry writes at start-up). */
  timeoutMs?: number;
  /** Told of a reply that came after the caller was answered with a timeout: what it spent. */
  onLateReply?: (value: T) => void;
}

/**
 * How long one connection attempt may take, from the TCP connect to the ready check's reply. Calls
 * never wait this long: they wait for a connection within their own budget.
 */
export function connectWaitMs(timeoutMs: number): number {
  return Math.max(1000, timeoutMs);
}

/** Reconnect after 50 ms, doubling up to 2 s, with jitter so a fleet does not reconnect in step. */
function reconnectDelay(attempt: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * ioredis options that keep a rate-limit call bounded and never replay a check. There is no
 * `commandTimeout`: ioredis would arm one timer per command, and its timers fire before the
 * replies already waiting in the socket are read; the connection's own deadlines replace it.
 */
export function boundedClientOptions(timeoutMs: number): RedisOptions {
  return {
    connectTimeout: connectWaitMs(timeoutMs),
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

export class RedisConnection {
  readonly client: RedisClient;
  readonly timeoutMs: number;
  private readonly ownsClient: boolean;
  private readonly deadlines: DeadlineWatch;
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
  /** When a call last timed out (performance.now()); -Infinity if none has. */
  private lastTimeoutAt = -Infinity;
  /**
   * A call timed out and Redis has said nothing since: the server is hung or overwhelmed, so new
   * calls fail at once instead of piling onto it (and spending units when it wakes), but one at a
   * time goes through as a probe. Cleared by the next reply or a new connection. Not used on a
   * Cluster, where one slow node must not stop the calls to the others.
   */
  private stalled = false;
  private probing = false;
  /** The call let through while stalled, to find out whether Redis answers again. */
  private probe: Deadline | undefined;
  private timeouts = 0;
  private lateReplies = 0;
  private readonly onCallDuration: ((seconds: number) => void) | undefined;
  /** Ends a connection that TCP accepted but whose ready check gets no answer (see watchReadyCheck). */
  private readyWatchdog: NodeJS.Timeout | undefined;

  constructor(options: RedisConnectionOptions) {
    this.timeoutMs = options.timeoutMs;
    this.onCallDuration = options.onCallDuration;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1)
      throw new RangeError('timeoutMs must be an integer >= 1');
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
      throw new RangeError('a Redis connection needs a url or a client');
    }
    // Ticks often enough to time out close to the bound, seldom enough to cost nothing.
    this.deadlines = new DeadlineWatch(
      Math.max(1, Math.min(20, Math.floor(this.timeoutMs / 5))),
      !this.client.isCluster,
    );
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
      if (!this.client.isCluster) this.watchReadyCheck();
    });
    this.client.on('ready', () => {
      this.lastConnectionError = this.connectionFault;
      this.stalled = false;
    });
  }

  get isCluster(): boolean {
    return this.client.isCluster;
  }

  /** Whether a call timed out within the last `withinMs`: the store, not this process, is slow. */
  timedOutRecently(withinMs: number): boolean {
    return performance.now() - this.lastTimeoutAt < withinMs;
  }

  stats(): { timeouts: number; lateReplies: number } {
    return { timeouts: this.timeouts, lateReplies: this.lateReplies };
  }

  /**
   * Run one call within the bound, waiting for a (re)connection inside the same budget. Every
   * failure becomes a StoreUnavailableError: the caller learns nothing about the counter.
   */
  run<T>(call: () => Promise<T>, options?: CallOptions<T>): Promise<T> {
    const budgetMs = options?.timeoutMs ?? this.timeoutMs;
    const startedAt = performance.now();
    return new Promise<T>((resolve, reject) => {
      const deadline = this.deadlines.track(budgetMs, () => {
        this.timeouts++;
        this.lastTimeoutAt = performance.now();
        this.onCallDuration?.((this.lastTimeoutAt - startedAt) / 1000);
        if (!this.client.isCluster && this.client.status === 'ready') this.stalled = true;
        reject(new StoreUnavailableError(`redis did not answer within ${budgetMs}ms`, { reason: 'timeout' }));
      });
      this.attempt(call, deadline).then(
        (value) => {
          this.deadlines.done(deadline);
          this.deadlines.replied();
          if (this.probe === deadline) this.endProbe();
          this.stalled = false;
          if (!deadline.expired) {
            this.onCallDuration?.((performance.now() - startedAt) / 1000);
            resolve(value);
          } else {
            this.lateReplies++;
            options?.onLateReply?.(value);
          }
        },
        (error: unknown) => {
          this.deadlines.done(deadline);
          if (this.probe === deadline) this.endProbe();
          // Redis answered, if only with an error: it is not hung.
          if (error instanceof ReplyError) {
            this.stalled = false;
            this.deadlines.replied();
          }
          if (!deadline.expired) {
            this.onCallDuration?.((performance.now() - startedAt) / 1000);
            reject(this.asStoreUnavailable(error));
          }
        },
      );
    });
  }

  /**
   * Resolves when the client is ready, or false once `waitMs` (of this process's waiting on Redis)
   * has passed. For a process starting up, which may wait longer for its first connection than a
   * call may (a TLS handshake on a busy host can outlast a 50 ms budget): calls never wait for it.
   */
  async connected(waitMs = connectWaitMs(this.timeoutMs)): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    while (this.client.status !== 'ready' && !this.closed && performance.now() < deadline) {
      try {
        await this.readyWithin(Math.max(1, Math.ceil(deadline - performance.now())));
      } catch {
        // Refused, or backing off: try again until the wait is over.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return this.client.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.readyWatchdog) clearTimeout(this.readyWatchdog);
    if (!this.ownsClient) {
      this.closed = true;
      // Calls still waiting would otherwise wait forever: no tick would ever expire them.
      this.deadlines.stop();
      return;
    }
    try {
      await this.run(() => this.client.quit());
    } catch {
      // Unreachable or slow: drop the connection instead of waiting.
    } finally {
      this.closed = true;
      this.deadlines.stop();
      this.client.disconnect();
    }
  }

  private async attempt<T>(call: () => Promise<T>, deadline: Deadline): Promise<T> {
    // A connection under way is waited for within the store timeout, even by a call whose own
    // budget is longer: a peer that accepted TCP and never answers is not worth more of it.
    if (this.client.status !== 'ready') {
      await (deadline.budgetMs <= this.timeoutMs ? this.whenReady() : this.readyWithin(this.timeoutMs));
    }
    // Counters in another database than the URL names would be wrong for every node: refuse.
    if (this.connectionFault) throw redisUnavailable('redis is unusable', this.connectionFault);
    // A caller that already had its timeout must not have its call run (and spend) later.
    if (deadline.expired) {
      throw new StoreUnavailableError('redis connected after the call timed out', { reason: 'timeout' });
    }
    if (this.stalled) {
      if (this.probing) {
        throw new StoreUnavailableError(
          'redis is not answering: a call timed out and no reply has come since',
          {
            reason: 'timeout',
          },
        );
      }
      this.probing = true;
      this.probe = deadline;
    }
    return call();
  }

  private endProbe(): void {
    this.probing = false;
    this.probe = undefined;
  }

  /** whenReady(), failed as a timeout after `waitMs` of (lag-discounted) waiting. */
  private readyWithin(waitMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wait = this.deadlines.track(waitMs, () => {
        reject(
          new StoreUnavailableError(`redis did not answer within ${waitMs}ms: not connected yet`, {
            reason: 'timeout',
          }),
        );
      });
      this.whenReady().then(
        () => {
          this.deadlines.done(wait);
          resolve();
        },
        (error: unknown) => {
          this.deadlines.done(wait);
          reject(error instanceof Error ? error : new StoreUnavailableError(String(error)));
        },
      );
    });
  }

  /**
   * ioredis's connect timeout ends at the TCP connect: a peer that accepts and never answers the
   * ready check (a black hole, a hung host, a TLS port spoken to in plain text) would keep the
   * client "connecting" for ever, every call waiting its whole budget on it. Past the connect
   * timeout, drop that connection: the client then backs off and calls fail at once, as for any
   * peer known to be down. Judged after the poll phase, so a ready reply already read wins.
   */
  private watchReadyCheck(): void {
    if (this.readyWatchdog) clearTimeout(this.readyWatchdog);
    const waitMs = connectWaitMs(this.timeoutMs);
    this.readyWatchdog = setTimeout(() => {
      setImmediate(() => {
        this.readyWatchdog = undefined;
        const { status } = this.client;
        if (this.closed || (status !== 'connect' && status !== 'connecting')) return;
        this.lastConnectionError = new Error(
          `redis did not answer within ${waitMs}ms of accepting the connection`,
        );
        this.client.disconnect(true);
      });
    }, waitMs);
    this.readyWatchdog.unref();
  }

  /** Resolves when the client is ready; waiters share one listener however many calls wait. */
  private whenReady(): Promise<void> {
    const { status } = this.client;
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
        settle();
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

  private unreachable(message: string): StoreUnavailableError {
    if (!this.lastConnectionError) return new StoreUnavailableError(message, { reason: 'unreachable' });
    return redisUnavailable(message, this.lastConnectionError);
  }

  /** A failed call, named by its cause (redis-errors.ts): never what Redis echoed of its arguments. */
  private asStoreUnavailable(error: unknown): RateLimiterError {
    if (error instanceof RateLimiterError) return error;
    return redisUnavailable('redis call failed', error, this.lastConnectionError);
  }
}
