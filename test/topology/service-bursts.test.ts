import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { ServiceProcess } from '../../support/service-process.js';

interface DecisionBody {
  allowed: boolean;
  degraded?: boolean;
}

/**
 * Issue 8 over HTTP: two real service processes with their default settings (50 ms store timeout,
 * open failure mode, where every false timeout used to become an uncounted admit).
 */
describe('service bursts on a healthy Redis', () => {
  let redis: RedisServer;
  const nodes: ServiceProcess[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    nodes.push(
      ...(await Promise.all(
        ['a', 'b'].map((id) => ServiceProcess.start(['--redis', redis.url, '--node-id', id])),
      )),
    );
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await redis.stop();
  });

  it('admits exactly the limit of 2,000 concurrent checks over two nodes, none degraded', async () => {
    // Warm each node's connection, as a deployed node's is.
    await Promise.all(
      nodes.map((node) => node.postJson('/v1/check', { key: 'warm-up', limit: 1, window: 1 })),
    );
    for (let round = 0; round < 2; round++) {
      const key = `http-burst:${round}:${Date.now()}`;
      const responses = await Promise.all(
        Array.from({ length: 2000 }, (_, i) =>
          (nodes[i % 2] as ServiceProcess).postJson('/v1/check', { key, limit: 100, window: '1m' }),
        ),
      );
      expect(responses.map((r) => r.status).filter((status) => status !== 200)).toEqual([]);
      const decisions = await Promise.all(responses.map((r) => r.json() as Promise<DecisionBody>));
      expect(decisions.filter((d) => d.degraded === true)).toHaveLength(0);
      expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    }
  });
});

describe('HTTP backpressure', () => {
  it('answers 503 overloaded at once past the requests in flight, and serves again after', async () => {
    const redis = await RedisServer.start();
    const node = await ServiceProcess.start([
      '--redis',
      redis.url,
      '--max-in-flight',
      '10',
      '--failure-mode',
      'closed',
      '--store-timeout-ms',
      '3000',
    ]);
    try {
      expect((await node.postJson('/v1/check', { key: 'k', limit: 5, window: 60 })).status).toBe(200);
      // A hung Redis holds every check for its whole timeout: ten fill the node, the rest are shed.
      redis.pause();
      const held = Array.from({ length: 10 }, (_, i) =>
        node.postJson('/v1/check', { key: `held:${i}`, limit: 5, window: 60 }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      const shed = await Promise.all(
        Array.from({ length: 50 }, () => node.postJson('/v1/check', { key: 'shed', limit: 5, window: 60 })),
      );
      expect(performance.now() - started).toBeLessThan(1000);
      for (const response of shed) {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('1');
        expect(await response.json()).toEqual({
          error: { code: 'overloaded', message: 'too many requests in flight on this node; retry shortly' },
        });
      }
      // Liveness is still answered on the full node.
      expect((await node.fetch('/healthz')).status).toBe(200);
      redis.resume();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
      expect((await node.postJson('/v1/check', { key: 'after', limit: 5, window: 60 })).status).toBe(200);
    } finally {
      redis.resume();
      await node.stop('SIGKILL');
      await redis.stop();
    }
  });
});
