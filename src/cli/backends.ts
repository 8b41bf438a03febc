import { RateLimiter } from '../limiter.js';
import { errorFromReply } from '../protocol/errors.js';
import { ROUTES } from '../protocol/routes.js';
import type { NodeEntry } from '../registry/node-registry.js';
import { RedisNodeRegistry } from '../registry/redis-registry.js';
import { RedisStore } from '../stores/redis/redis-store.js';
import { JsonClient } from '../stores/remote/http-client.js';
import { ServiceStore } from '../stores/remote/service-store.js';

/**
 * What the client commands need, whether they talk to Redis directly or to a running service: a
 * RateLimiter over the store that reaches the counters, and the node list.
 */
export interface Backend {
  readonly limiter: RateLimiter;
  nodes(): Promise<NodeEntry[]>;
  close(): Promise<void>;
}

/** A failure the CLI reports as one line on stderr, exit 2. */
export class CliError extends Error {
  override name = 'CliError';
}

export interface RedisBackendOptions {
  url: string;
  keyPrefix: string;
  timeoutMs: number;
}

/** The library itself against Redis: the same counters a service on that Redis uses. */
export class RedisBackend implements Backend {
  readonly limiter: RateLimiter;
  private readonly store: RedisStore;
  private readonly registry: RedisNodeRegistry;

  constructor(options: RedisBackendOptions) {
    this.store = new RedisStore({
      url: options.url,
      keyPrefix: options.keyPrefix,
      timeoutMs: options.timeoutMs,
    });
    this.limiter = new RateLimiter({ store: this.store });
    this.registry = new RedisNodeRegistry(this.store.connection, options.keyPrefix);
  }

  async nodes(): Promise<NodeEntry[]> {
    try {
      return await this.registry.list();
    } catch (error) {
      throw new CliError(`cannot list nodes: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  close(): Promise<void> {
    return this.limiter.close();
  }
}

export interface HttpBackendOptions {
  baseUrl: string;
  apiToken: string | undefined;
  adminToken: string | undefined;
  timeoutMs: number;
}

/** A running service: the library over ServiceStore, exactly as an application would use it. */
export class HttpBackend implements Backend {
  readonly limiter: RateLimiter;
  private readonly client: JsonClient;

  constructor(options: HttpBackendOptions) {
    const { baseUrl, timeoutMs } = options;
    this.limiter = new RateLimiter({
      store: new ServiceStore({
        url: baseUrl,
        timeoutMs,
        ...(options.apiToken === undefined ? {} : { token: options.apiToken }),
        ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      }),
    });
    this.client = new JsonClient({ baseUrl, timeoutMs, maxSockets: 1 });
  }

  async nodes(): Promise<NodeEntry[]> {
    const reply = await this.client.request('GET', ROUTES.nodes, {});
    if (reply.status !== 200) throw errorFromReply(reply, this.client.origin);
    const { nodes } = reply.body as { nodes?: unknown };
    if (!Array.isArray(nodes)) throw new CliError(`${this.client.origin} sent no node list`);
    return nodes as NodeEntry[];
  }

  async close(): Promise<void> {
    this.client.close();
    await this.limiter.close();
  }
}
