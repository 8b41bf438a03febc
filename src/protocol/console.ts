/**
 * The operator console's JSON: what `GET /v1/console/node` answers (one node's own figures, what
 * peers ask each other) and `GET /v1/console/snapshot` (the deployment, merged by the node asked).
 * Keys travel hashed (`h:` and 12 hex digits of an HMAC) unless the deployment set
 * RATELIMITER_CONSOLE_KEYS=plain.
 */

/** How keys appear: `hashed` (default) or `plain`. */
export const CONSOLE_KEY_MODES = ['hashed', 'plain'] as const;
export type ConsoleKeyMode = (typeof CONSOLE_KEY_MODES)[number];

/** Consecutive seconds of one node's (or the fleet's) decisions, oldest first, ending at `endSecond`. */
export interface WireTallySeries {
  /** Unix seconds of the newest entry. */
  endSecond: number;
  allowed: number[];
  denied: number[];
  degraded: number[];
}

/** Decisions per second, averaged over the last few whole seconds. */
export interface WireRates {
  allowed: number;
  denied: number;
  degraded: number;
}

export interface WireLimitedKey {
  /** The key itself in plain mode, else `h:<12 hex>`. */
  key: string;
  /** Denials counted in the last minute (at most `maxUndercount` short of the truth, never over). */
  denied: number;
  algorithm: string;
  limit: number;
  windowMs: number;
}

/** A Misra-Gries summary of the denied keys of the last minute (see src/console/heavy-hitters.ts). */
export interface WireDeniedKeys {
  keys: ConsoleKeyMode;
  /** Counters kept: any key denied more than counted / (k + 1) times in the minute is listed. */
  k: number;
  /** Denials counted in the minute. */
  counted: number;
  /** The most any listed count is below the true one. */
  maxUndercount: number;
  top: WireLimitedKey[];
}

export interface WireRulesError {
  file: string;
  line: number;
  reason: string;
}

export interface WireRules {
  /** The rules path, or null when the node runs without one. */
  path: string | null;
  domains: { domain: string; rules: number }[];
  ruleCount: number;
  /** ISO 8601 of the last successful (re)load, or null. */
  lastLoadAt: string | null;
  /** ISO 8601 of the last refused reload, and why; null when none failed since the last good one. */
  lastErrorAt: string | null;
  lastError: WireRulesError | null;
}

export interface WireStore {
  kind: string;
  /** Store call latency of the last minute: [bucket, count] pairs (src/console/latency.ts). */
  latencyBuckets: [number, number][];
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  calls: number;
  /** Store failures met by decisions in the last minute, by reason (timeout, oom, ...). */
  errors: Record<string, number>;
  /** Since the node started. */
  denyCacheHits: number;
  shed: number;
  timeouts: number;
}

/** `GET /v1/console/node`: this node's own figures. */
export interface WireNodeReport {
  nodeId: string;
  version: string;
  /** Unix ms when the report was made. */
  at: number;
  decisions: WireTallySeries;
  deniedKeys: WireDeniedKeys;
  rules: WireRules;
  store: WireStore;
}

/** A node as the console lists it: the registry's entry and whether it answered. */
export interface WireConsoleNode {
  id: string;
  address: string;
  version: string;
  store: string;
  startedAt: string;
  uptimeSeconds: number;
  heartbeatAgeMs: number;
  /** The node answered its report in time (the node asked always does). */
  reachable: boolean;
  /** Why not, when it did not: `timeout`, `unauthorized`, `http_<status>`, `bad_reply`, `unreachable`. */
  problem?: string;
  current?: WireRates;
}

/** `GET /v1/console/snapshot`: the deployment as the node asked sees it. */
export interface WireConsoleSnapshot {
  at: number;
  askedNode: string;
  keys: ConsoleKeyMode;
  /** How long the node asked waited for its peers at most. */
  peerTimeoutMs: number;
  nodes: WireConsoleNode[];
  decisions: {
    current: WireRates;
    fleet: WireTallySeries;
    byNode: Record<string, WireTallySeries>;
  };
  deniedKeys: WireDeniedKeys;
  rules: (WireRules & { nodeId: string })[];
  /** The nodes' store figures summed (latency over their merged buckets), and each node's own. */
  store: Omit<WireStore, 'kind' | 'latencyBuckets'> & { byNode: (WireStore & { nodeId: string })[] };
}
