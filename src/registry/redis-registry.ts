import { once } from 'node:events';
import { StoreUnavailableError } from '../core/errors.js';
import { redisUnavailable } from '../stores/redis/redis-errors.js';
import type { RedisClient } from '../stores/redis/scripts.js';
import type { NodeEntry, NodeInfo, NodeRegistry } from './node-registry.js';

/**
 * Nodes in Redis (design.md section 3): `<prefix>nodes` is a sorted set of node id → last
 * heartbeat (ms, Redis clock) and `<prefix>node:<id>` a hash of what the node registered, expiring
 * after its TTL. Time comes from Redis TIME so nodes with skewed clocks still agree on who is alive.
 * The keys are written by separate commands (no MULTI) so the same code works on a Redis Cluster,
 * where the two keys live in different slots.
 */
export class RedisNodeRegistry implements NodeRegistry {
  private readonly indexKey: string;

  /**
   * @param connectWaitMs how long a call may wait for the (shared) connection to become ready: the
   *   client queues nothing while disconnected, so a node starting up would otherwise lose its first
   *   heartbeat and stay unlisted for a whole interval.
   */
  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
    private readonly connectWaitMs = 2000,
  ) {
    this.indexKey = `${keyPrefix}nodes`;
  }

  announce(node: NodeInfo, ttlMs: number): Promise<void> {
    return explained(() => this.write(node, ttlMs));
  }

  remove(id: string): Promise<void> {
    return explained(async () => {
      await this.connected();
      await Promise.all([this.client.zrem(this.indexKey, id), this.client.del(this.nodeKey(id))]);
    });
  }

  list(): Promise<NodeEntry[]> {
    return explained(() => this.read());
  }

  /** The client belongs to the store that shares it; the store closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async write(node: NodeInfo, ttlMs: number): Promise<void> {
    await this.connected();
    const nowMs = await this.redisNowMs();
    const nodeKey = this.nodeKey(node.id);
    await Promise.all([
      this.client.zadd(this.indexKey, nowMs, node.id),
      this.client.hset(nodeKey, { ...serialize(node), ttlMs: String(ttlMs) }),
      this.client.pexpire(nodeKey, ttlMs),
      // The index itself must not outlive the deployment: every heartbeat pushes its expiry out.
      this.client.pexpire(this.indexKey, ttlMs * 10),
    ]);
  }

  private async read(): Promise<NodeEntry[]> {
    await this.connected();
    const [nowMs, flat] = await Promise.all([
      this.redisNowMs(),
      this.client.zrange(this.indexKey, 0, -1, 'WITHSCORES'),
    ]);
    const candidates: { id: string; lastHeartbeatMs: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      candidates.push({ id: flat[i] ?? '', lastHeartbeatMs: Number(flat[i + 1]) });
    }
    const hashes = await Promise.all(candidates.map(({ id }) => this.client.hgetall(this.nodeKey(id))));
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
      await Promise.all([
        this.client.zrem(this.indexKey, ...dead),
        ...dead.map((id) => this.client.del(this.nodeKey(id))),
      ]);
    }
    return live;
  }

  private async connected(): Promise<void> {
    if (this.client.status === 'ready') return;
    if (this.client.status === 'end') {
      throw new StoreUnavailableError('the redis connection is closed', { reason: 'closed' });
    }
    try {
      await once(this.client, 'ready', { signal: AbortSignal.timeout(this.connectWaitMs) });
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') {
        throw new StoreUnavailableError(`redis was not ready within ${this.connectWaitMs}ms`, {
          reason: 'timeout',
        });
      }
      throw error;
    }
  }

  private nodeKey(id: string): string {
    return `${this.keyPrefix}node:${id}`;
  }

  private async redisNowMs(): Promise<number> {
    const [seconds, micros] = await this.client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}

/**
 * Registry failures as StoreUnavailableError with the cause explained: the raw ioredis error
 * carries the command's arguments (an AUTH password on a failed reconnect).
 */
async function explained<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw redisUnavailable('redis call failed', error);
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
