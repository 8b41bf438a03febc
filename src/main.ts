import type { FastifyInstance } from 'fastify';
import type { Settings } from './config/settings.js';
import { PACKAGE_VERSION } from './config/version.js';
import { REDACTED_LOG_PATHS, buildApp } from './http/app.js';
import { RateLimiter } from './limiter.js';
import { ThrottledWarning } from './logging/throttled-warning.js';
import { MeteredLimiter } from './metrics/metered-limiter.js';
import { ServiceMetrics } from './metrics/metrics.js';
import { NodeHeartbeat } from './registry/heartbeat.js';
import { MemoryNodeRegistry } from './registry/memory-registry.js';
import type { NodeRegistry } from './registry/node-registry.js';
import { RedisNodeRegistry } from './registry/redis-registry.js';
import { MemoryStore } from './stores/memory/memory-store.js';
import { RedisStore } from './stores/redis/redis-store.js';
import { redactRedisUrl } from './stores/redis/redis-url.js';
import type { Store } from './stores/store.js';

const STORE_WARNING_INTERVAL_MS = 10_000;

/** A started service: where it listens, and how to stop it gracefully. */
export interface RunningService {
  app: FastifyInstance;
  url: string;
  /** Stop accepting, finish in-flight requests, deregister, close the store. */
  stop(): Promise<void>;
}

function openStore(settings: Settings, metrics: ServiceMetrics): { store: Store; registry: NodeRegistry } {
  if (settings.redisUrl === undefined) {
    return { store: new MemoryStore(), registry: new MemoryNodeRegistry() };
  }
  const store = new RedisStore({
    url: settings.redisUrl,
    timeoutMs: settings.storeTimeoutMs,
    keyPrefix: settings.keyPrefix,
    maxBatch: settings.storeMaxBatch,
    maxQueued: settings.storeMaxQueued,
    queueTimeoutMs: settings.storeQueueTimeoutMs,
    ...(settings.storeMaxInFlight === undefined ? {} : { maxInFlight: settings.storeMaxInFlight }),
    onCallDuration: (seconds) => {
      metrics.storeCallSeconds.observe(seconds);
    },
    ...(settings.denyCacheEntries > 0 ? { denyCache: { maxEntries: settings.denyCacheEntries } } : {}),
  });
  // The registry shares the store's connection: one backend, one set of reconnect rules.
  return {
    store,
    registry: new RedisNodeRegistry(
      store.connection,
      settings.keyPrefix,
      Math.max(1000, settings.storeTimeoutMs),
    ),
  };
}

/** The composition root: settings → store → limiter → app → listen → heartbeat. */
export async function startService(settings: Settings): Promise<RunningService> {
  const metrics = new ServiceMetrics();
  const { store, registry } = openStore(settings, metrics);
  if (store.stats) metrics.watchStore(() => store.stats?.() ?? {});
  metrics.countLiveNodesWith(async () => (await registry.list()).length);
  // One warning per interval however many checks fail: an outage must not flood the logs.
  const storeWarning = new ThrottledWarning(STORE_WARNING_INTERVAL_MS, (error, suppressed) => {
    app.log.warn(
      { err: error, failureMode: settings.failureMode, suppressed },
      'store unavailable; decisions follow the failure mode',
    );
  });
  // The `local` failure mode gives each node limit / live nodes; the last count survives an outage.
  let liveNodes = 1;
  const rateLimiter = new RateLimiter({
    store,
    failurePolicy: {
      mode: settings.failureMode,
      liveNodes: () => liveNodes,
      onStoreFailure: (error) => {
        storeWarning.note(error);
      },
    },
  });
  const limiter = new MeteredLimiter(rateLimiter, metrics, store.kind);
  const app = await buildApp({
    limiter,
    storeKind: store.kind,
    registry,
    metrics,
    adminToken: settings.adminToken,
    apiToken: settings.apiToken,
    version: PACKAGE_VERSION,
    maxInFlight: settings.maxInFlight,
    logger: {
      level: settings.logLevel,
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      base: { nodeId: settings.nodeId },
    },
  });
  let url: string;
  try {
    url = await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    await app.close();
    await rateLimiter.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const heartbeat = new NodeHeartbeat({
    registry,
    node: {
      id: settings.nodeId,
      host: settings.host,
      httpPort: port,
      version: PACKAGE_VERSION,
      store: store.kind,
      startedAt: new Date().toISOString(),
    },
    intervalMs: settings.heartbeatMs,
    onLiveNodes: (count) => {
      liveNodes = Math.max(1, count);
    },
    onFailure: (error) => {
      metrics.heartbeatFailures.inc();
      app.log.warn({ err: error }, 'node heartbeat failed; retrying at the next interval');
    },
  });
  heartbeat.start();
  app.log.info(
    {
      url,
      store: store.kind,
      ...(settings.redisUrl === undefined ? {} : { redis: redactRedisUrl(settings.redisUrl) }),
      failureMode: settings.failureMode,
      version: PACKAGE_VERSION,
    },
    'ready',
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await app.close();
      await heartbeat.stop();
      await registry.close();
      await rateLimiter.close();
    })();
    return stopping;
  };
  return { app, url, stop };
}

/**
 * Run until SIGTERM or SIGINT, then stop gracefully and exit 0; a stop that outlasts the shutdown
 * timeout exits 1 rather than hang a deploy.
 */
export function stopOnSignals(service: RunningService, shutdownTimeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    service.app.log.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      service.app.log.error({ shutdownTimeoutMs }, 'graceful stop timed out');
      process.exit(1);
    }, shutdownTimeoutMs);
    deadline.unref();
    service.stop().then(
      () => {
        service.app.log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        service.app.log.error({ err: error }, 'graceful stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
