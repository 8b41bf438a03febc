import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireConsoleSnapshot } from '../../src/protocol/console.js';
import { InProcessService } from '../support/in-process-service.js';
import { workerRedis } from '../support/worker-redis.js';

const redis = workerRedis();
const ADMIN_TOKEN = 'console-fleet-admin-0123456789';
const KEY = 'tenant-42:user-7';

describe('console on Redis: the node asked merges its peer', () => {
  let a: InProcessService;
  let b: InProcessService;

  beforeAll(async () => {
    const env = {
      REDIS_URL: redis.url,
      RATELIMITER_ADMIN_TOKEN: ADMIN_TOKEN,
      RATELIMITER_KEY_PREFIX: 'console-fleet:',
    };
    [a, b] = await Promise.all([
      InProcessService.start(['--node-id', 'node-a'], env),
      InProcessService.start(['--node-id', 'node-b'], env),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('lists both nodes and sums their denials of one key (hashed, the same hash on both)', async () => {
    // The shared counter: 3 admitted over both nodes, then each node denies the key twice.
    for (const node of [a, b, a, a, a, b, b]) {
      await node.postJson('/v1/check', { key: KEY, limit: 3, window: 60 });
    }
    const response = await a.fetch('/v1/console/snapshot', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const snapshot = JSON.parse(text) as WireConsoleSnapshot;
    expect(snapshot.nodes.map(({ id, reachable }) => `${id}:${String(reachable)}`).sort()).toEqual([
      'node-a:true',
      'node-b:true',
    ]);
    const sum = (values: number[]) => values.reduce((total, n) => total + n, 0);
    expect(sum(snapshot.decisions.fleet.allowed)).toBe(3);
    expect(sum(snapshot.decisions.fleet.denied)).toBe(4);
    expect(snapshot.deniedKeys.top).toEqual([
      {
        key: expect.stringMatching(/^h:[0-9a-f]{12}$/) as string,
        denied: 4,
        algorithm: 'sliding-window-log',
        limit: 3,
        windowMs: 60_000,
      },
    ]);
    expect(text).not.toContain('tenant-42');
    expect(snapshot.store.calls).toBeGreaterThan(0);
    expect(snapshot.store.latencyP99Ms).toBeGreaterThan(0);
  });
});
