/**
 * The bench's subjects decide like the real thing: the raw driver runs the store's own scripts
 * with the store's own encoding (so it shares counters with RateLimiter), and the peer's denials
 * are answers, not errors. On a throwaway redis-server.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerInMemory, peerOnRedis } from '../../bench/peer.js';
import { callShapes, rawCheckScript } from '../../bench/raw-scripts.js';
import { parseCheck } from '../../src/core/validate.js';
import { ALGORITHM_NAMES, RateLimiter, RedisStore } from '../../src/index.js';
import { workerRedis } from '../support/worker-redis.js';

const ONE_BY_ONE = { checksPerCall: 1, callsInFlight: 1 };

describe('raw call shapes', () => {
  it("measures one check per call, and the full batches the store's coalescer makes", () => {
    expect(callShapes(200)).toEqual([
      { checksPerCall: 1, callsInFlight: 200 },
      { checksPerCall: 100, callsInFlight: 2 },
    ]);
    expect(callShapes(50)).toEqual([
      { checksPerCall: 1, callsInFlight: 50 },
      { checksPerCall: 50, callsInFlight: 1 },
    ]);
    expect(callShapes(1)).toEqual([{ checksPerCall: 1, callsInFlight: 1 }]);
  });
});

describe('bench subjects on Redis', () => {
  const server = workerRedis();
  let store: RedisStore;
  let limiter: RateLimiter;
  let client: Redis;

  beforeAll(() => {
    store = new RedisStore({ url: server.url, timeoutMs: 2000 });
    limiter = new RateLimiter({ store });
    client = new Redis(server.url);
  });

  afterAll(async () => {
    client.disconnect();
    await limiter.close();
  });

  it.each(ALGORITHM_NAMES)(
    'the raw %s script admits up to the limit on the counter RateLimiter reads',
    async (algorithm) => {
      const request = { key: `raw:${algorithm}`, limit: 2, window: 60, algorithm };
      const raw = await rawCheckScript(client, store, algorithm, [parseCheck(request)], ONE_BY_ONE);
      const admitted = [];
      for (let i = 0; i < 3; i++) admitted.push(await raw.op(i));
      expect(admitted).toEqual([1, 1, 0]);
      const seen = await limiter.peek(request);
      expect(seen).toMatchObject({ allowed: true, count: 2, remaining: 0 });
    },
  );

  it('cycles through its pool of precomputed checks', async () => {
    const pool = ['a', 'b'].map((key) => parseCheck({ key: `pool:${key}`, limit: 1, window: 60 }));
    const raw = await rawCheckScript(client, store, 'pool', pool, ONE_BY_ONE);
    const admitted = [];
    for (let i = 0; i < 4; i++) admitted.push(await raw.op(i));
    expect(admitted).toEqual([1, 1, 0, 0]);
  });

  it.each(ALGORITHM_NAMES)('a batched raw %s call decides each of its checks in turn', async (algorithm) => {
    const request = { key: `batch:${algorithm}`, limit: 2, window: 60, algorithm };
    const shape = { checksPerCall: 3, callsInFlight: 1 };
    const raw = await rawCheckScript(client, store, algorithm, [parseCheck(request)], shape);
    expect(raw.checksPerCall).toBe(3);
    expect(await raw.op(0)).toBe(2);
    expect(await limiter.peek(request)).toMatchObject({ count: 2, remaining: 0 });
  });

  it('answers a RateLimiterRedis denial as 0, not as an error', async () => {
    const peer = peerOnRedis(client, { limit: 2, windowS: 60 }, () => 'peer:redis');
    const admitted = [];
    for (let i = 0; i < 3; i++) admitted.push(await peer.op(i));
    expect(admitted).toEqual([1, 1, 0]);
  });
});

describe('bench peer in memory', () => {
  it('answers a RateLimiterMemory denial as 0, not as an error', async () => {
    const peer = peerInMemory({ limit: 1, windowS: 60 }, () => 'peer:memory');
    expect([await peer.op(0), await peer.op(1)]).toEqual([1, 0]);
  });
});
