/**
 * The peer we are measured against: rate-limiter-flexible, the limiter most Node users run,
 * constructed as its README shows. `consume` resolves when admitted and rejects with a
 * RateLimiterRes when limited; only other rejections are errors.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Subject } from './rounds.js';

export const PEER = 'rate-limiter-flexible';

/** A limit per window as the peer expresses it: points per duration in whole seconds. */
export interface PeerLimit {
  limit: number;
  windowS: number;
}

function consuming(name: string, limiter: RateLimiterAbstract, key: (i: number) => string): Subject {
  return {
    name,
    op: (i) =>
      limiter.consume(key(i)).then(
        () => 1,
        (rejection: unknown) => {
          if (rejection instanceof RateLimiterRes) return 0;
          throw rejection;
        },
      ),
  };
}

export function peerOnRedis(
  client: Redis,
  { limit, windowS }: PeerLimit,
  key: (i: number) => string,
): Subject {
  const limiter = new RateLimiterRedis({ storeClient: client, points: limit, duration: windowS });
  return consuming(`${PEER} RateLimiterRedis.consume`, limiter, key);
}

export function peerInMemory({ limit, windowS }: PeerLimit, key: (i: number) => string): Subject {
  const limiter = new RateLimiterMemory({ points: limit, duration: windowS });
  return consuming(`${PEER} RateLimiterMemory.consume`, limiter, key);
}
