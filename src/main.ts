import type { FastifyInstance } from 'fastify';
import { advertisedHost } from './config/advertise.js';
import { SettingError, settingName } from './config/settings.js';
import type { Settings } from './config/settings.js';
import { PACKAGE_VERSION } from './config/version.js';
import { StoreUnavailableError } from './core/errors.js';
import { buildApp } from './http/app.js';
import { RateLimiter } from './limiter.js';
import { LogDestination } from './logging/log-destination.js';
import { createServiceLogger } from './logging/service-logger.js';
import { ThrottledWarning } from './logging/throttled-warning.js';
import { startGrpcServer } from './grpc/server.js';
import type { RunningGrpcServer } from './grpc/server.js';
import { MeteredLimiter } from './metrics/metered-limiter.js';
import { RuleSeries } from './metrics/rule-stats.js';
import { ServiceMetrics } from './metrics/metrics.js';
import { NodeHeartbeat } from './registry/heartbeat.js';
import { MemoryNodeRegistry } from './registry/memory-registry.js';
import type { NodeRegistry } from './registry/node-registry.js';
import { RedisNodeRegistry } from './registry/redis-registry.js';
import { MemoryStore } from './stores/memory/memory-store.js';
import { RedisStore } from './stores/redis/redis-store.js';
import { redactRedisUrl } from './stores/redis/redis-url.js';
import type { Store } from './stores/store.js';
import type { QuotaStore } from './stores/quota-store.js';
import { MemoryQuotaStore } from './stores/memory/memory-quota-store.js';
import { RedisQuotaStore } from './stores/redis/redis-quota-store.js';
import { QuotaService } from './envoy/quota-service.js';
import { QuotaSeries } from './metrics/quota-metrics.js';
import { RulesWatcher } from './rules/watcher.js';
import { RulesParser } from './rules/rules-parser.js';
import type { RulesSnapshot } from './rules/load.js';
import { EMPTY_RULES } from './rules/types.js';
import type { RuleSet } from './rules/types.js';
import { RateLimitService } from './envoy/rate-limit-service.js';
import { ConsoleRecorder } from './console/recorder.js';
import { FleetConsole } from './console/fleet.js';
import { KeyLabels, consoleKeySecret } from './console/key-labels.js';
import { NodeConsole } from './console/node-report.js';
import { RulesStatus } from './console/rules-status.js';

const STORE_WARNING_INTERVAL_MS = 10_000;
const SHADOW_LOG_INTERVAL_MS = 10_000;
import { DecisionReadiness, counterScriptCheck, registryWriteCheck, rulesLoadedCheck } from './readiness.js';
/** Log lines still buffered get this long to be written before the process exits. */
const LOG_FLUSH_AT_EXIT_MS = 500;

/** A started service: where it listens, and how to stop it gracefully. */
export interface RunningService {
  app: FastifyInstance;
  url: string;
  grpcPort: number;
  /** Stop accepting, finish in-flight requests, deregister, close the store. */
  stop(): Promise<void>;
  /** Write what the logger still buffers, waiting at most `timeoutMs`. */
  flushLogs(timeoutMs: number): Promise<void>;
}

function openStore(
  settings: Settings,
  metrics: ServiceMetrics,
  recorder: ConsoleRecorder,
  onMemoryPressure: (event: 'evicted' | 'refused') => void,
): { store: Store; registry: NodeRegistry; quotaStore: QuotaStore } {
  if (settings.redisUrl === undefined) {
    const store = new MemoryStore({
      maxBytes: settings.memoryMaxMb * 1024 * 1024,
      maxKeys: settings.memoryMaxCounters,
      whenFull: settings.memoryWhenFull,
      onPressure: onMemoryPressure,
    });
    return { store, registry: new MemoryNodeRegistry(), quotaStore: new MemoryQuotaStore() };
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
      recorder.storeCall(Date.now(), seconds);
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
    quotaStore: new RedisQuotaStore(store.connection, settings.keyPrefix),
  };
}

/**
 * A SELECT that fails leaves ioredis in database 0, where counters would silently go: refuse to
 * start, naming REDIS_URL. Start-up waits for the first connection (up to the connect timeout;
 * calls never wait that long). Redis unreachable or slow at start is not refused: the failure
 * mode applies, and readiness reports a missing database once Redis answers.
 */
async function refuseMissingDatabase(store: Store): Promise<void> {
  if (store instanceof RedisStore) await store.connection.connected();
  try {
    await store.ping();
  } catch (error) {
    if (error instanceof StoreUnavailableError && error.reason === 'select_failed') {
      throw new SettingError(settingName('redisUrl'), error.message);
    }
  }
}

/** `listen` failures, named after the setting to change (the HTTP or the gRPC port, the host). */
function listenError(error: unknown, settings: Settings, portSetting: 'port' | 'grpcPort'): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const address = `${settings.host}:${settings[portSetting]}`;
  switch (code) {
    case 'EADDRINUSE':
      return new SettingError(settingName(portSetting), `${address} is already in use (${code})`);
    case 'EACCES':
      return new SettingError(settingName(portSetting), `binding ${address} is not permitted (${code})`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EADDRNOTAVAIL':
      return new SettingError(
        settingName('host'),
        `"${settings.host}" is not an address of this machine (${code})`,
      );
    default:
      return error;
  }
}

/**
 * The composition root, wired top down so that nothing is used before it exists: settings →
 * metrics and logger → rules → store → limiter → services → app → listen → heartbeat.
 */
export async function startService(settings: Settings): Promise<RunningService> {
  const metrics = new ServiceMetrics();
  const recorder = new ConsoleRecorder();
  const rulesStatus = new RulesStatus(settings.rulesPath);
  // Logging never blocks serving: lines the output cannot take are dropped and counted.
  const logDestination = new LogDestination({
    onDrop: (lines) => {
      metrics.logLinesDropped.inc(lines);
    },
  });
  const log = createServiceLogger(settings.logLevel, settings.nodeId, logDestination);
  // A bad rules file stops the start here, before anything is opened: file, line and reason.
  // Reloads parse on a worker thread (started now, reused), so decisions keep flowing meanwhile.
  const rulesParser = settings.rulesPath === undefined ? undefined : new RulesParser();
  const rulesStart =
    settings.rulesPath === undefined
      ? undefined
      : await RulesWatcher.start({
          path: settings.rulesPath,
          ...(rulesParser ? { parse: (snapshot: RulesSnapshot) => rulesParser.build(snapshot) } : {}),
          onReload: (rules, warnings) => {
            metrics.rulesReloads.inc({ result: 'success' });
            rulesStatus.loaded(rules);
            metrics.rulesDomains.set(rules.domains.size);
            log.info({ files: rules.files, domains: [...rules.domains.keys()] }, 'rules reloaded');
            if (rules.domains.size === 0)
              log.warn({ rules: settings.rulesPath }, 'the rules path holds no rules');
            for (const warning of warnings) log.warn({ warning }, 'rules: ignored key');
          },
          onError: (error) => {
            metrics.rulesReloads.inc({ result: 'error' });
            rulesStatus.failed(error);
            log.error(
              { file: error.file, line: error.line, reason: error.reason },
              `rules not reloaded, the previous rules stay: ${error.message}`,
            );
          },
        });
  const rulesWatcher = rulesStart?.watcher;
  const currentRules = (): RuleSet => rulesWatcher?.current ?? EMPTY_RULES;
  metrics.rulesDomains.set(currentRules().domains.size);
  if (rulesWatcher) rulesStatus.loaded(rulesWatcher.current);
  const pressureWarning = new ThrottledWarning<'evicted' | 'refused'>(
    STORE_WARNING_INTERVAL_MS,
    (event, suppressed) => {
      log.warn(
        { event, suppressed, whenFull: settings.memoryWhenFull, maxMb: settings.memoryMaxMb },
        event === 'evicted'
          ? 'memory store full: evicted counters that still counted (their clients get quota back)'
          : 'memory store full: refused checks of new counters (503 overloaded)',
      );
    },
  );
  const { store, registry, quotaStore } = openStore(settings, metrics, recorder, (event) => {
    pressureWarning.note(event);
  });
  if (store.stats) metrics.watchStore(() => store.stats?.() ?? {});
  if (settings.redisUrl !== undefined) {
    try {
      await refuseMissingDatabase(store);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  metrics.countLiveNodesWith(async () => (await registry.list()).length);
  // One warning per interval however many checks fail: an outage must not flood the logs.
  const storeWarning = new ThrottledWarning(STORE_WARNING_INTERVAL_MS, (error, suppressed) => {
    log.warn(
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
        recorder.storeFailure(Date.now(), error.reason ?? 'unknown');
      },
    },
  });
  const limiter = new MeteredLimiter(rateLimiter, metrics, store.kind, recorder);
  const nodeConsole = new NodeConsole({
    nodeId: settings.nodeId,
    version: PACKAGE_VERSION,
    storeKind: store.kind,
    recorder,
    rules: rulesStatus,
    labels: new KeyLabels(
      settings.consoleKeys,
      consoleKeySecret(settings.consoleKeySecret, settings.adminToken),
    ),
    ...(store.stats ? { storeStats: () => store.stats?.() ?? {} } : {}),
  });
  const shadowWarning = new ThrottledWarning<{ domain: string; rule: string }>(
    SHADOW_LOG_INTERVAL_MS,
    (latest, suppressed) => {
      log.warn({ ...latest, suppressed }, 'over the limit, answered OK by shadow mode');
    },
  );
  const rateLimitService = new RateLimitService({
    limiter,
    rules: currentRules,
    shadowMode: settings.shadowMode,
    quotaMode: settings.quotaMode,
    responseHeaders: settings.responseHeaders,
    stats: new RuleSeries(metrics, (domain) => currentRules().domains.has(domain)),
    onShadowed: (domain, rule) => {
      shadowWarning.note({ domain, rule });
    },
  });
  const quotaService = new QuotaService({
    store: quotaStore,
    rules: currentRules,
    unmatched: settings.rlqsUnmatched,
    maxTtlS: settings.rlqsMaxTtlS,
    maxBucketsPerStream: settings.rlqsMaxBucketsPerStream,
    maxStreams: settings.rlqsMaxStreams,
    nodeId: settings.nodeId,
    onStoreFailure: (error) => {
      storeWarning.note(error);
    },
    observer: new QuotaSeries(metrics, currentRules),
  });
  // The heartbeat knows the node only once it listens; readiness needs its registry write before.
  const registration: { heartbeat?: NodeHeartbeat } = {};
  // Ready means a decision can be made and recorded: the check script runs, the registry takes a write.
  const rulesLoaded = () => settings.rulesPath === undefined || rulesWatcher !== undefined;
  const readiness = new DecisionReadiness(
    [
      rulesLoadedCheck(rulesLoaded),
      counterScriptCheck(store),
      registryWriteCheck(() => registration.heartbeat?.announceNow() ?? Promise.resolve()),
    ],
    {
      onChange: (now, before) => {
        if (!now.ready) {
          log.warn({ check: now.check, reason: now.reason }, `not ready: ${now.check}: ${now.message}`);
        } else if (before !== undefined) {
          log.info('ready again: decisions can be made and recorded');
        }
      },
    },
  );
  const app = await buildApp({
    limiter,
    storeKind: store.kind,
    registry,
    metrics,
    readiness,
    adminToken: settings.adminToken,
    apiToken: settings.apiToken,
    envoy: {
      service: rateLimitService,
      forwardAuthDescriptors: settings.forwardAuthDescriptors,
      trustedProxies: settings.trustedProxies,
    },
    quotas: { store: quotaStore, rules: currentRules },
    rulesLoaded,
    console: { node: nodeConsole, fleet: new FleetConsole({ node: nodeConsole, registry }) },
    version: PACKAGE_VERSION,
    maxInFlight: settings.maxInFlight,
    loggerInstance: log,
    httpLimits: {
      requestTimeoutMs: settings.requestTimeoutMs,
      headersTimeoutMs: settings.headersTimeoutMs,
      keepAliveTimeoutMs: settings.keepAliveTimeoutMs,
      maxConnections: settings.maxConnections,
    },
  });
  for (const warning of rulesStart?.warnings ?? []) log.warn({ warning }, 'rules: ignored key');
  if (settings.rulesPath === undefined) {
    log.warn('no rules file (RATELIMITER_RULES): Envoy rate-limit requests get no limits');
  } else if (currentRules().domains.size === 0) {
    log.warn({ rules: settings.rulesPath }, 'the rules path holds no rules');
  }
  const grpcRefusalWarning = new ThrottledWarning<string>(STORE_WARNING_INTERVAL_MS, (what, suppressed) => {
    log.warn(
      { refusal: 'connection_limit', suppressed },
      `grpc: ${settings.grpcMaxConnections} connections are open (RATELIMITER_GRPC_MAX_CONNECTIONS), ${what}`,
    );
  });
  let url: string;
  let grpc: RunningGrpcServer;
  let listening: 'port' | 'grpcPort' = 'port';
  try {
    url = await app.listen({ host: settings.host, port: settings.port });
    listening = 'grpcPort';
    grpc = await startGrpcServer({
      host: settings.host,
      port: settings.grpcPort,
      service: rateLimitService,
      // SERVING means what /readyz 200 means: a decision can be made and recorded.
      healthy: async () => (await readiness.probe()).ready,
      logger: log,
      quotas: quotaService,
      limits: {
        maxConnections: settings.grpcMaxConnections,
        maxConcurrentStreams: settings.grpcMaxStreams,
        idleTimeoutMs: settings.grpcIdleTimeoutMs,
        keepaliveMs: settings.grpcKeepaliveMs,
        maxSessionMemoryMb: settings.grpcSessionMemoryMb,
      },
      onConnectionRefused: () => {
        metrics.grpcConnectionsRefused.inc({ kind: 'connection_limit' });
        grpcRefusalWarning.note('every one has spoken: a new one was closed');
      },
      onSilentConnectionClosed: () => {
        metrics.grpcConnectionsRefused.inc({ kind: 'silent_closed' });
        grpcRefusalWarning.note('the oldest that never sent a byte was closed for a new one');
      },
    });
  } catch (error) {
    rulesWatcher?.close();
    void rulesParser?.close();
    await app.close();
    await rateLimiter.close();
    throw listenError(error, settings, listening);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const heartbeat = new NodeHeartbeat({
    registry,
    node: {
      id: settings.nodeId,
      host: advertisedHost(settings.host, settings.advertiseAddress),
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
      log.warn({ err: error }, 'node heartbeat failed; retrying at the next interval');
    },
  });
  registration.heartbeat = heartbeat;
  heartbeat.start();
  log.info(
    {
      url,
      grpcPort: grpc.port,
      rules: settings.rulesPath,
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
      rulesWatcher?.close();
      void rulesParser?.close();
      await Promise.all([app.close(), grpc.stop(settings.shutdownTimeoutMs)]);
      await heartbeat.stop();
      await registry.close();
      await rateLimiter.close();
    })();
    return stopping;
  };
  return { app, url, grpcPort: grpc.port, stop, flushLogs: (timeoutMs) => logDestination.flush(timeoutMs) };
}

/**
 * Run until SIGTERM or SIGINT, then stop gracefully and exit 0; a stop that outlasts the shutdown
 * timeout exits 1 rather than hang a deploy.
 */
export function stopOnSignals(service: RunningService, shutdownTimeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    service.app.log.info({ signal }, 'stopping');
    const exit = (code: number) => {
      void service.flushLogs(LOG_FLUSH_AT_EXIT_MS).then(() => process.exit(code));
    };
    const deadline = setTimeout(() => {
      service.app.log.error({ shutdownTimeoutMs }, 'graceful stop timed out');
      exit(1);
    }, shutdownTimeoutMs);
    deadline.unref();
    service.stop().then(
      () => {
        service.app.log.info('stopped');
        exit(0);
      },
      (error: unknown) => {
        service.app.log.error({ err: error }, 'graceful stop failed');
        exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
