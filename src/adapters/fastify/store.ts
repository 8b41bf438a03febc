import { PeerCounter } from '../shared/peer-counter.js';
import type { PeerStoreOptions } from '../shared/peer-counter.js';

export type FastifyRateLimitStoreOptions = PeerStoreOptions;

/** What @fastify/rate-limit's hook reads from a store: hits so far and ms until the limit stops binding. */
export interface FastifyRateLimitRecord {
  current: number;
  ttl: number;
}

type Callback = (error: Error | null, record?: FastifyRateLimitRecord) => void;

/**
 * A @fastify/rate-limit custom store over our limiter. The plugin builds its store itself
 * (`new Store(pluginOptions)`), so give it a class bound to your limiter:
 * `store: FastifyRateLimitStore.using({ limiter })`. `max` and `timeWindow` (numbers or functions)
 * stay the plugin's. Default key prefix `frl:`.
 */
export class FastifyRateLimitStore {
  private readonly counter: PeerCounter;

  constructor(private readonly options: FastifyRateLimitStoreOptions) {
    this.counter = new PeerCounter(options, 'frl:');
  }

  /** A store class for the plugin's `store` option: every instance it makes uses `options.limiter`. */
  static using(
    options: FastifyRateLimitStoreOptions,
  ): new (pluginOptions?: unknown) => FastifyRateLimitStore {
    return class extends FastifyRateLimitStore {
      constructor() {
        super(options);
      }
    };
  }

  /** Count a hit; `current > max` makes the plugin answer 429 with its own headers. */
  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    this.counter.hit(key, max, timeWindow).then(
      (hit) => {
        callback(null, { current: hit.totalHits, ttl: hit.waitMs });
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /** The state without counting (`{ increment: false }`). */
  read(key: string, callback: Callback, timeWindow: number, max: number): void {
    if (max === 0) {
      callback(null, { current: 0, ttl: 0 });
      return;
    }
    this.counter.read(key, max, timeWindow).then(
      (decision) => {
        callback(null, { current: decision.count, ttl: decision.resetAfterMs });
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /**
   * A route with its own config counts apart from the global limit, as the plugin's own stores do:
   * its keys get the route (method and URL) in their prefix.
   */
  // The plugin passes its route options (typed by @fastify/rate-limit, which this module does not
  // import): `unknown` accepts them whatever their type, and only routeInfo is read.
  child(routeOptions?: unknown): FastifyRateLimitStore {
    const { method, url } = routeInfoOf(routeOptions);
    const route = typeof method === 'string' && typeof url === 'string' ? `${method}${url}:` : 'route:';
    return new FastifyRateLimitStore({ ...this.options, prefix: `${this.counter.prefix}${route}` });
  }
}

function routeInfoOf(routeOptions: unknown): { method?: unknown; url?: unknown } {
  if (typeof routeOptions !== 'object' || routeOptions === null || !('routeInfo' in routeOptions)) return {};
  const { routeInfo } = routeOptions;
  return typeof routeInfo === 'object' && routeInfo !== null ? routeInfo : {};
}
