import { Cluster, Redis } from 'ioredis';
import type { Callback, ClusterOptions, RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url.js';
import type { RedisTarget } from './redis-url.js';

/** Any ioredis client the stores and the registry talk through: one server, or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * An ioredis client for any Redis URL form (see parseRedisUrl), carrying the caller's bounded
 * options. Throws RedisUrlError for a URL that cannot be used; connects lazily in the background.
 */
export function createRedisClient(url: string, clientOptions: RedisOptions, timeoutMs: number): RedisClient {
  const target = parseRedisUrl(url);
  const credentials = {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
  };
  switch (target.kind) {
    case 'single':
      return new Redis({ ...target.node, db: target.db, ...credentials, ...clientOptions });
    case 'cluster':
      return new Cluster(target.seeds, clusterOptions({ ...credentials, ...clientOptions }, timeoutMs));
    case 'sentinel':
      return new SentinelRedis({
        ...credentials,
        ...clientOptions,
        ...sentinelOptions(target, clientOptions, timeoutMs),
      });
  }
}

/**
 * Cluster-level options for bounded calls. The node options lose `retryStrategy` and
 * `enableOfflineQueue`: ioredis forces its own on node connections (no per-node reconnect: a lost
 * node is replaced through the slot map) and the cluster takes ours instead.
 */
function clusterOptions(clientOptions: RedisOptions, timeoutMs: number): ClusterOptions {
  const nodeOptions: RedisOptions = { ...clientOptions };
  delete nodeOptions.retryStrategy;
  delete nodeOptions.enableOfflineQueue;
  // A redirect retry after a failover or TRYAGAIN must fit in the call's budget to be of use; past
  // it, the caller has been answered and a late retry would only spend units the caller never saw.
  const retryDelay = Math.max(5, Math.min(100, Math.floor(timeoutMs / 4)));
  return {
    redisOptions: nodeOptions,
    // Fail fast while the slot map is being (re)loaded, as on a single node: never queue a check.
    enableOfflineQueue: false,
    ...(clientOptions.retryStrategy ? { clusterRetryStrategy: clientOptions.retryStrategy } : {}),
    // Counters are read and written by one script on the master: replicas would only serve stale reads.
    scaleReads: 'master',
    // MOVED: follow at once (the new owner is known) and refresh the slot map in the background.
    retryDelayOnMoved: 0,
    retryDelayOnFailover: retryDelay,
    retryDelayOnClusterDown: retryDelay,
    retryDelayOnTryAgain: retryDelay,
    maxRedirections: 16,
    // The slot map is refreshed off the call path (on MOVED, on failures and every 5 s), so its
    // timeout may exceed the call budget; it bounds how long one dead seed node delays a refresh.
    slotsRefreshTimeout: Math.max(1000, timeoutMs),
    slotsRefreshInterval: 5000,
  };
}

type SentinelTarget = Extract<RedisTarget, { kind: 'sentinel' }>;

/** Longest wait between reconnect attempts under Sentinel. */
const SENTINEL_RECONNECT_CAP_MS = 500;

function sentinelOptions(
  target: SentinelTarget,
  clientOptions: RedisOptions,
  timeoutMs: number,
): RedisOptions {
  const { retryStrategy } = clientOptions;
  return {
    sentinels: target.sentinels,
    name: target.masterName,
    role: 'master',
    db: target.db,
    ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
    ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    sentinelCommandTimeout: Math.max(500, timeoutMs),
    // Subscribe to +switch-master: after SENTINEL FAILOVER the old master stays up, and Sentinel
    // only turns it into a replica (closing its clients) on its next INFO, up to 10 s later; until
    // then clients without the subscription would go on spending units on a master being retired.
    failoverDetector: true,
    // Each reconnect attempt asks the sentinels for the master anew: capping the backoff finds a
    // promoted replica within half a second instead of up to the single-node cap later.
    ...(retryStrategy
      ? {
          retryStrategy: (attempt: number) => {
            const delay = retryStrategy(attempt);
            return typeof delay === 'number' ? Math.min(delay, SENTINEL_RECONNECT_CAP_MS) : delay;
          },
        }
      : {}),
  };
}

/** Wait before reviving a client that ioredis ended on its own. */
const REVIVE_DELAY_MS = 50;

/**
 * A Sentinel client that reconnects when ioredis ends it without being asked. With the failover
 * detector on, a +switch-master that arrives while a reconnect attempt is asking the sentinels for
 * the master aborts that attempt, and ioredis then ends the client for good: every later call
 * would fail (seen about once in ten failover tests under load).
 */
class SentinelRedis extends Redis {
  private closedByOwner = false;

  constructor(options: RedisOptions) {
    super(options);
    this.on('end', () => {
      if (this.closedByOwner) return;
      setTimeout(() => {
        if (!this.closedByOwner && this.status === 'end') this.connect().catch(() => undefined);
      }, REVIVE_DELAY_MS);
    });
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) this.closedByOwner = true;
    super.disconnect(reconnect);
  }

  override quit(callback?: Callback<'OK'>): Promise<'OK'> {
    this.closedByOwner = true;
    return super.quit(callback);
  }
}
