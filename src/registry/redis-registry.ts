import type { RedisConnection } from '../stores/redis/connection.js';
import type { RedisClient } from '../stores/redis/connect.js';
import type { NodeEntry, NodeInfo, NodeRegistry } from './node-registry.js';

/**
 * Nodes in Redis (design.md section 3): `<prefix>nodes` is a sorted set of node id → last
 * heartbeat (ms, Redis clock) and `<prefix>node:<id>` a hash of what the node registered, expiring
 * after its TTL. Time comes from Redis TIME so nodes with skewed clocks still agree on who is alive.
 * The keys are written by separate commands (no MULTI) so the same code works on a Redis Cluster,
 * where the two keys live in different slots. Every call goes through the store's connection, so it
 * is bounded, typed (StoreUnavailableError) and reconnected by the same rules as a check.
 */
export class RedisNodeRegistry implements NodeRegistry {
  private readonly indexKey: string;
  private readonly client: RedisClient;

  /**
   * @param callTimeoutMs the bound of each registry call, waiting for the connection included: the
   *   client queues nothing while disconnected, so a node starting up would otherwise lose its first
   *   heartbeat and stay unlisted for a whole interval.
   */
  constructor(
    private readonly connection: RedisConnection,
    private readonly keyPrefix: string,
    private readonly callTimeoutMs = 2000,
  ) {
    this.indexKey = `${keyPrefix}nodes`;
    this.client = connection.client;
  }

  async announce(node: NodeInfo, ttlMs: number): Promise<void> {
    const nowMs = await this.redisNowMs();
    const nodeKey = this.nodeKey(node.id);
    await this.run(() =>
      Promise.all([
        this.client.zadd(this.indexKey, nowMs, node.id),
        this.client.hset(nodeKey, { ...serialize(node), ttlMs: String(ttlMs) }),
        this.client.pexpire(nodeKey, ttlMs),
        // The index itself must not outlive the deployment: every heartbeat pushes its expiry out.
        this.client.pexpire(this.indexKey, ttlMs * 10),
      ]),
    );
  }

  async remove(id: string): Promise<void> {
    await this.run(() =>
      Promise.all([this.client.zrem(this.indexKey, id), this.client.del(this.nodeKey(id))]),
    );
  }

  async list(): Promise<NodeEntry[]> {
    const [nowMs, flat] = await Promise.all([
      this.redisNowMs(),
      this.run(() => this.client.zrange(this.indexKey, 0, -1, 'WITHSCORES')),
    ]);
    const candidates: { id: string; lastHeartbeatMs: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      candidates.push({ id: flat[i] ?? '', lastHeartbeatMs: Number(flat[i + 1]) });
    }
    const hashes = await this.run(() =>
      Promise.all(candidates.map(({ id }) => this.client.hgetall(this.nodeKey(id)))),
    );
    const live: NodeEntry[] = [];
    const dead: string[] = [];
    candidates.forEach(({ id, lastHeartbeatMs }, index) => {
      const node = deserialize(hashes[index] ?? {});
      if (!node || lastHeartbeatMs + node.ttlMs <= nowMs) {
        dead.push(id);
        return;
      }
      live.push({ ...node.info, lastHeartbeatAt: new Date(lastHeartbeatMs).toISOString() });
    });
    if (dead.length > 0) {
      await this.run(() =>
        Promise.all([
          this.client.zrem(this.indexKey, ...dead),
          ...dead.map((id) => this.client.del(this.nodeKey(id))),
        ]),
      );
    }
    return live;
  }

  /** The client belongs to the store that shares it; the store closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private run<T>(call: () => Promise<T>): Promise<T> {
    return this.connection.run(call, { timeoutMs: this.callTimeoutMs });
  }

  private nodeKey(id: string): string {
    return `${this.keyPrefix}node:${id}`;
  }

  private async redisNowMs(): Promise<number> {
    const [seconds, micros] = await this.run(() => this.client.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}

function serialize(node: NodeInfo): Record<string, string> {
  return {
    id: node.id,
    host: node.host,
    httpPort: String(node.httpPort),
    version: node.version,
    store: node.store,
    startedAt: node.startedAt,
  };
}

/** A hash written by announce(), or undefined when it expired or was written by something else. */
function deserialize(hash: Record<string, string>): { info: NodeInfo; ttlMs: number } | undefined {
  const { id, host, httpPort, version, store, startedAt, ttlMs } = hash;
  if (
    id === undefined ||
    host === undefined ||
    version === undefined ||
    store === undefined ||
    startedAt === undefined
  ) {
    return undefined;
  }
  const port = Number(httpPort);
  const ttl = Number(ttlMs);
  if (!Number.isInteger(port) || !Number.isFinite(ttl)) return undefined;
  return { info: { id, host, httpPort: port, version, store, startedAt }, ttlMs: ttl };
}
