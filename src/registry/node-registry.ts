/** What a node says about itself when it registers. */
export interface NodeInfo {
  id: string;
  host: string;
  httpPort: number;
  version: string;
  /** The limiter store kind: "memory", "redis". */
  store: string;
  /** ISO 8601. */
  startedAt: string;
}

/** A node as listed: what it registered, and when it was last heard from. */
export interface NodeEntry extends NodeInfo {
  /** ISO 8601. */
  lastHeartbeatAt: string;
}

/**
 * Where the nodes of one deployment find each other. Separate from the limiter Store: a
 * registry holds a handful of entries that expire, not counters, and its failures must never
 * affect a decision.
 */
export interface NodeRegistry {
  /** Register or refresh a node; it stays listed for `ttlMs` unless announced again. */
  announce(node: NodeInfo, ttlMs: number): Promise<void>;
  /** Remove a node at once (graceful stop). */
  remove(id: string): Promise<void>;
  /** Live nodes, oldest first; entries older than their TTL are dropped and cleaned up. */
  list(): Promise<NodeEntry[]>;
  close(): Promise<void>;
}
