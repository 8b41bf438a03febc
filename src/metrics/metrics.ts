import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreStats } from '../stores/store.js';
import { TalliedCounter, TalliedHistogram } from './hot-metrics.js';

/** Per (domain, rule), counted on every Envoy decision: tallied in plain numbers (hot-metrics.ts). */
function ruleCounter(registry: Registry, name: string, help: string) {
  return new TalliedCounter(registry, name, help, ['domain', 'rule'] as const);
}

/** What a decision concluded; the only per-decision label besides the algorithm (never the key). */
export type DecisionOutcome = 'allowed' | 'denied';

/** Every limiter operation a transport performs; a fixed, small set so label cardinality stays bounded. */
export type LimiterOperation =
  'check' | 'checks' | 'peek' | 'refund' | 'reset' | 'ping' | 'acquire' | 'release' | 'renew';

/** What a lease call concluded: acquire allowed|denied, release released|not_released, renew renewed|not_renewed. */
export type LeaseOutcome = 'allowed' | 'denied' | 'released' | 'not_released' | 'renewed' | 'not_renewed';

/** Store failures met by decisions are reported by the failure policy, whatever its mode. */
export const DECISION_OPERATION = 'decision';

/**
 * Every metric the service exports, by name, in one place. Each instance owns its Registry (not
 * prom-client's global one), so several apps in one process (tests) never collide.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly decisions = new TalliedCounter(
    this.registry,
    'ratelimiter_decisions_total',
    'Decisions taken, by algorithm and outcome.',
    ['algorithm', 'outcome'],
  );

  readonly decisionSeconds = new TalliedHistogram(
    this.registry,
    'ratelimiter_decision_duration_seconds',
    'Time to answer a limiter operation, store round trip included.',
    'operation',
    // Memory decisions take microseconds, Redis ones about a millisecond, timeouts 50 ms and up.
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  );

  readonly leaseCalls = new TalliedCounter(
    this.registry,
    'ratelimiter_lease_calls_total',
    'Lease calls answered, by operation (acquire, release, renew) and outcome (allowed, denied, released, not_released, renewed, not_renewed).',
    ['operation', 'outcome'],
  );

  readonly storeErrors = new Counter({
    name: 'ratelimiter_store_errors_total',
    help: 'Store calls that timed out or could not reach the store, whatever the failure mode did next.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly degradedDecisions = new Counter({
    name: 'ratelimiter_degraded_decisions_total',
    help: 'Decisions answered without the store by the open or local failure mode.',
    registers: [this.registry],
  });

  readonly heartbeatFailures = new Counter({
    name: 'ratelimiter_node_heartbeat_failures_total',
    help: 'Heartbeats of this node that could not be written to the registry.',
    registers: [this.registry],
  });

  readonly httpRefusals = new Counter({
    name: 'ratelimiter_http_refusals_total',
    help: 'Connections and requests the HTTP server turned away before routing, by kind: connection_limit, request_timeout, headers_too_large, bad_request.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly httpIdleConnectionsClosed = new Counter({
    name: 'ratelimiter_http_idle_connections_closed_total',
    help: 'Idle HTTP connections (keep-alive, or no whole request sent yet) closed, oldest first, to admit new ones at RATELIMITER_MAX_CONNECTIONS.',
    registers: [this.registry],
  });

  readonly grpcConnectionsRefused = new Counter({
    name: 'ratelimiter_grpc_connections_refused_total',
    help: 'gRPC connections closed at RATELIMITER_GRPC_MAX_CONNECTIONS, by kind: silent_closed (the oldest that never sent a byte, for a new one), connection_limit (a new one, every open one having spoken).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly logLinesDropped = new Counter({
    name: 'ratelimiter_log_lines_dropped_total',
    help: 'Log lines dropped because the log output could not take them (buffer full, or the write failed).',
    registers: [this.registry],
  });

  // Envoy's rate-limit API, per domain and rule (units, as the reference service counts them). The
  // rule label is the rule's path in the rules file, bounded by RuleSeries (src/metrics/rule-stats.ts).
  readonly ruleHits = ruleCounter(this.registry, 'ratelimiter_rule_hits_total', 'Units asked of a rule.');
  readonly ruleOverLimit = ruleCounter(
    this.registry,
    'ratelimiter_rule_over_limit_total',
    'Units a rule refused (shadow mode included).',
  );
  readonly ruleNearLimit = ruleCounter(
    this.registry,
    'ratelimiter_rule_near_limit_total',
    'Units a rule admitted above 80 % of its limit.',
  );
  readonly ruleWithinLimit = ruleCounter(
    this.registry,
    'ratelimiter_rule_within_limit_total',
    'Units a rule admitted.',
  );
  readonly ruleShadowMode = ruleCounter(
    this.registry,
    'ratelimiter_rule_shadow_mode_total',
    'Units a rule in shadow mode would have refused (answered OK).',
  );

  readonly globalShadowMode = new Counter({
    name: 'ratelimiter_global_shadow_mode_total',
    help: 'Over-limit answers turned OK by RATELIMITER_SHADOW_MODE.',
    labelNames: ['domain'] as const,
    registers: [this.registry],
  });

  readonly domainNotFound = new Counter({
    name: 'ratelimiter_domain_not_found_total',
    help: 'Rate-limit requests for a domain the rules do not define (answered OK, no limit).',
    registers: [this.registry],
  });

  readonly rulesReloads = new Counter({
    name: 'ratelimiter_rules_reloads_total',
    help: 'Reloads of the rules path: success, or error (the previous rules stay).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly rulesDomains = new Gauge({
    name: 'ratelimiter_rules_domains',
    help: 'Domains in the rules in force.',
    registers: [this.registry],
  });

  readonly storeCallSeconds = new Histogram({
    name: 'ratelimiter_store_call_duration_seconds',
    help: 'Time each store call (one script call carries many checks) waited for its answer, timeouts included.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  /** Set at each scrape from `countLiveNodes` when one is given; a failed count keeps the last value. */
  readonly liveNodes: Gauge;

  private countLiveNodes: (() => Promise<number>) | undefined;
  private storeStats: (() => StoreStats) | undefined;

  constructor() {
    this.liveNodes = new Gauge({
      name: 'ratelimiter_live_nodes',
      help: 'Nodes of this deployment alive in the node registry, as of the last scrape.',
      registers: [this.registry],
      collect: async () => {
        const count = await this.countLiveNodes?.().catch(() => undefined);
        if (count !== undefined) this.liveNodes.set(count);
      },
    });
    this.storeGauge('ratelimiter_store_queue_depth', 'Checks waiting for a place in a store call.', 'queued');
    this.storeGauge('ratelimiter_store_calls_in_flight', 'Store calls awaiting their answer.', 'inFlight');
    this.storeGauge('ratelimiter_memory_counters', 'Counters held by the in-process store.', 'counters');
    this.storeCounter(
      'ratelimiter_store_shed_total',
      'Checks refused as overloaded because too many were waiting for the store (503, never admitted).',
      'shed',
    );
    this.storeCounter(
      'ratelimiter_store_timeouts_total',
      'Store calls that timed out waiting on the store.',
      'timeouts',
    );
    this.storeCounter(
      'ratelimiter_store_late_replies_total',
      'Store answers that came after their call had timed out.',
      'lateReplies',
    );
    this.storeCounter(
      'ratelimiter_store_late_admitted_units_total',
      'Units recorded by checks whose callers were told the store timed out (spent without their knowing).',
      'lateAdmittedUnits',
    );
    this.storeCounter(
      'ratelimiter_deny_cache_hits_total',
      "Checks denied from this node's memory of a denial that still holds, without a store call.",
      'denyCacheHits',
    );
    this.storeCounter(
      'ratelimiter_deny_cache_invalidation_failures_total',
      'Deny-cache invalidations this node could not publish, or subscriptions refused (the cache then keeps nothing).',
      'invalidationFailures',
    );
    this.storeCounter(
      'ratelimiter_memory_evictions_total',
      'Counters the in-process store dropped before their window passed, to stay within its bound.',
      'evictions',
    );
    // Includes nodejs_eventloop_lag_seconds and its percentiles: how busy this process is.
    collectDefaultMetrics({ register: this.registry });
  }

  /** Where the store-side metrics come from at scrape time (the store lives outside this module). */
  watchStore(stats: () => StoreStats): void {
    this.storeStats = stats;
  }

  private storeGauge(name: string, help: string, field: keyof StoreStats): void {
    const read = () => this.storeStats?.()[field];
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: () => {
        const value = read();
        if (value !== undefined) gauge.set(value);
      },
    });
  }

  /** A counter kept by the store: copied at each scrape, so it only ever grows as the store's does. */
  private storeCounter(name: string, help: string, field: keyof StoreStats): void {
    const read = () => this.storeStats?.()[field];
    const counter: Counter = new Counter({
      name,
      help,
      registers: [this.registry],
      collect: () => {
        const value = read();
        if (value === undefined) return;
        counter.reset();
        counter.inc(value);
      },
    });
  }

  /** How to count live nodes at scrape time (the registry lives outside this module). */
  countLiveNodesWith(count: () => Promise<number>): void {
    this.countLiveNodes = count;
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
