import type { CheckRequest, PeekRequest, ResetRequest, WireDecision } from '../core/types.js';
import { redactSecrets } from '../logging/redact.js';
import { RateLimiter } from '../limiter.js';
import type { NodeEntry } from '../registry/node-registry.js';
import { RedisNodeRegistry } from '../registry/redis-registry.js';
import { RedisStore } from '../stores/redis/redis-store.js';

/** What the client commands need, whether they talk to Redis directly or to a running service. */
export interface Backend {
  check(request: CheckRequest): Promise<WireDecision>;
  peek(request: PeekRequest): Promise<WireDecision>;
  reset(request: ResetRequest): Promise<void>;
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
  private readonly store: RedisStore;
  private readonly limiter: RateLimiter;
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

  check(request: CheckRequest): Promise<WireDecision> {
    return this.limiter.check(request);
  }

  peek(request: PeekRequest): Promise<WireDecision> {
    return this.limiter.peek(request);
  }

  reset(request: ResetRequest): Promise<void> {
    return this.limiter.reset(request);
  }

  async nodes(): Promise<NodeEntry[]> {
    try {
      return await this.registry.list();
    } catch (error) {
      throw new CliError(`cannot list nodes: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

export interface HttpBackendOptions {
  baseUrl: string;
  apiToken: string | undefined;
  adminToken: string | undefined;
  timeoutMs: number;
}

/** A running service over its HTTP API (Node's fetch). */
export class HttpBackend implements Backend {
  constructor(private readonly options: HttpBackendOptions) {}

  check(request: CheckRequest): Promise<WireDecision> {
    return this.call<WireDecision>('POST', '/v1/check', this.options.apiToken, request);
  }

  peek({ key, ...query }: PeekRequest): Promise<WireDecision> {
    return this.call<WireDecision>('GET', `${counterPath(key)}?${queryString(query)}`, this.options.apiToken);
  }

  async reset({ key, ...query }: ResetRequest): Promise<void> {
    await this.call('DELETE', `${counterPath(key)}?${queryString(query)}`, this.options.adminToken);
  }

  async nodes(): Promise<NodeEntry[]> {
    return (await this.call<{ nodes: NodeEntry[] }>('GET', '/v1/nodes', undefined)).nodes;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async call<T>(method: string, path: string, token: string | undefined, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(new URL(path, this.options.baseUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new CliError(redactSecrets(`cannot reach ${this.options.baseUrl}: ${reason}`));
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) throw new CliError(describeErrorReply(response.status, parsed, text));
    return parsed as T;
  }
}

function counterPath(key: string): string {
  return `/v1/counters/${encodeURIComponent(key)}`;
}

function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  return params.toString();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `HTTP 400 invalid_argument (limit): limit must be an integer >= 0`, from the service's error body. */
function describeErrorReply(status: number, parsed: unknown, text: string): string {
  const error = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)
    ?.error;
  if (!error) return `HTTP ${status}: ${text.slice(0, 200)}`;
  const field = error.field === undefined ? '' : ` (${error.field})`;
  return `HTTP ${status} ${error.code ?? 'error'}${field}: ${error.message ?? ''}`;
}
