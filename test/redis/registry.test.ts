import { afterAll, describe, expect, it, vi } from 'vitest';
import { NodeHeartbeat } from '../../src/registry/heartbeat.js';
import { MemoryNodeRegistry } from '../../src/registry/memory-registry.js';
import type { NodeInfo, NodeRegistry } from '../../src/registry/node-registry.js';
import { RedisNodeRegistry } from '../../src/registry/redis-registry.js';
import { RedisConnection } from '../../src/stores/redis/connection.js';
import { workerRedis } from '../support/worker-redis.js';
import { eventually } from '../../support/service-process.js';

function node(id: string): NodeInfo {
  return {
    id,
    host: '127.0.0.1',
    httpPort: 8080,
    version: 'test',
    store: 'test',
    startedAt: new Date(0).toISOString(),
  };
}

const redis = workerRedis();
const connections: RedisConnection[] = [];
let prefixSerial = 0;

const implementations: { name: string; create: () => Promise<NodeRegistry> }[] = [
  { name: 'memory', create: () => Promise.resolve(new MemoryNodeRegistry()) },
  {
    name: 'redis',
    create() {
      const connection = new RedisConnection({ url: redis.url, timeoutMs: 2000 });
      connections.push(connection);
      prefixSerial += 1;
      return Promise.resolve(new RedisNodeRegistry(connection, `registry-test-${prefixSerial}:`));
    },
  },
];

afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
});

/** The same contract for every registry: what /v1/nodes promises. */
describe.each(implementations)('$name node registry', ({ create }) => {
  it('lists announced nodes with their registration and last heartbeat', async () => {
    const registry = await create();
    await registry.announce(node('a'), 60_000);
    await registry.announce(node('b'), 60_000);
    const listed = await registry.list();
    expect(listed.map((entry) => entry.id).sort()).toEqual(['a', 'b']);
    expect(listed[0]).toMatchObject({ host: '127.0.0.1', httpPort: 8080, version: 'test', store: 'test' });
    expect(Date.parse(listed[0]?.lastHeartbeatAt ?? '')).not.toBeNaN();
  });

  it('announcing again refreshes a node instead of duplicating it', async () => {
    const registry = await create();
    await registry.announce(node('a'), 60_000);
    await registry.announce({ ...node('a'), httpPort: 9090 }, 60_000);
    expect(await registry.list()).toMatchObject([{ id: 'a', httpPort: 9090 }]);
  });

  it('removes a node at once', async () => {
    const registry = await create();
    await registry.announce(node('a'), 60_000);
    await registry.announce(node('b'), 60_000);
    await registry.remove('a');
    expect((await registry.list()).map((entry) => entry.id)).toEqual(['b']);
  });

  it('drops a node whose TTL passed without a heartbeat', async () => {
    const registry = await create();
    await registry.announce(node('short'), 100);
    await registry.announce(node('long'), 60_000);
    await eventually(
      async () => (await registry.list()).every((entry) => entry.id !== 'short'),
      'the short-lived node to age out',
      3000,
    );
    expect((await registry.list()).map((entry) => entry.id)).toEqual(['long']);
  });
});

describe('NodeHeartbeat', () => {
  it('reports a failing registry instead of throwing, and keeps beating', async () => {
    const failure = new Error('registry down');
    const remove = vi.fn(() => Promise.reject(failure));
    const registry: NodeRegistry = {
      announce: () => Promise.reject(failure),
      remove,
      list: () => Promise.resolve([]),
      close: () => Promise.resolve(),
    };
    const failures: unknown[] = [];
    const heartbeat = new NodeHeartbeat({
      registry,
      node: node('flaky'),
      intervalMs: 20,
      onFailure: (error) => failures.push(error),
    });
    heartbeat.start();
    await eventually(() => Promise.resolve(failures.length >= 3), 'three failed heartbeats', 3000);
    await heartbeat.stop();
    expect(failures.every((error) => error === failure)).toBe(true);
    expect(remove).toHaveBeenCalledWith('flaky');
    expect(heartbeat.ttlMs).toBe(60);
  });

  it('deregisters on stop', async () => {
    const registry = new MemoryNodeRegistry();
    const heartbeat = new NodeHeartbeat({
      registry,
      node: node('me'),
      intervalMs: 1000,
      onFailure: () => undefined,
    });
    heartbeat.start();
    await eventually(async () => (await registry.list()).length === 1, 'the first heartbeat', 3000);
    await heartbeat.stop();
    expect(await registry.list()).toEqual([]);
  });
});
