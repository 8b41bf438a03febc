import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What a decision concluded; the only per-decision label besides the algorithm (never the key). */
export type DecisionOutcome = 'allowed' | 'denied';

/** Every limiter operation a transport performs; a fixed, small set so label cardinality stays bounded. */
export type LimiterOperation = 'check' | 'checks' | 'peek' | 'refund' | 'reset' | 'ping';

/** Store failures met by decisions are reported by the failure policy, whatever its mode. */
export const DECISION_OPERATION = 'decision';

/**
 * Every metric the service exports, by name, in one place. Each instance owns its Registry (not
 * prom-client's global one), so several apps in one process (tests) never collide.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly decisions = new Counter({
    name: 'ratelimiter_decisions_total',
    help: 'Decisions taken, by algorithm and outcome.',
    labelNames: ['algorithm', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly decisionSeconds = new Histogram({
    name: 'ratelimiter_decision_duration_seconds',
    help: 'Time to answer a limiter operation, store round trip included.',
    labelNames: ['operation'] as const,
    // Memory decisions take microseconds, Redis ones about a millisecond, timeouts 50 ms and up.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });

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

  readonly logLinesDropped = new Counter({
    name: 'ratelimiter_log_lines_dropped_total',
    help: 'Log lines dropped because the log output could not take them (buffer full, or the write failed).',
    registers: [this.registry],
  });

  /** Set at each scrape from `countLiveNodes` when one is given; a failed count keeps the last value. */
  readonly liveNodes: Gauge;

  private countLiveNodes: (() => Promise<number>) | undefined;

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
    collectDefaultMetrics({ register: this.registry });
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
