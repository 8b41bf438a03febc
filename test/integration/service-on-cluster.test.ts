import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterHarness } from '../support/redis-cluster.js';
import { ServiceProcess, eventually } from './support/service-process.js';

/** Two service nodes on a real Redis Cluster (with a password): the registry and exact decisions. */
describe('service nodes on a Redis Cluster', () => {
  let cluster: RedisClusterHarness;
  const nodes: ServiceProcess[] = [];

  beforeAll(async () => {
    cluster = await RedisClusterHarness.start({ password: 'cluster-secret' });
    nodes.push(
      ...(await Promise.all(
        ['cluster-a', 'cluster-b'].map((id) =>
          ServiceProcess.start(['--redis', cluster.url, '--node-id', id, '--store-timeout-ms', '2000']),
        ),
      )),
    );
  }, 30_000);

  function twoNodes(): [ServiceProcess, ServiceProcess] {
    const [first, second] = nodes;
    if (!first || !second) throw new Error('two nodes expected');
    return [first, second];
  }

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await cluster.stop();
  });

  it('registers both nodes and never logs the Redis password', async () => {
    const [first] = twoNodes();
    await eventually(async () => (await first.nodeIds()).length === 2, 'both nodes to be listed');
    expect((await first.nodeIds()).sort()).toEqual(['cluster-a', 'cluster-b']);
    expect(nodes.flatMap((node) => node.logLines).join('\n')).not.toContain('cluster-secret');
  });

  it('admits exactly the limit of concurrent checks spread over both nodes', async () => {
    const key = `cluster-burst:${Date.now()}`;
    const pair = twoNodes();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        pair[index % 2 === 0 ? 0 : 1].postJson('/v1/check', { key, limit: 50, window: '1m' }),
      ),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const decisions = await Promise.all(
      responses.map((response) => response.json() as Promise<{ allowed: boolean }>),
    );
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(50);
  });

  it('refuses an atomic batch whose keys live in different slots, and records nothing', async () => {
    const [first] = twoNodes();
    const keys = ['atomic-a', 'atomic-b', 'atomic-c'].map((name) => `${name}:${Date.now()}`);
    const response = await first.postJson('/v1/checks', {
      atomic: true,
      checks: keys.map((key) => ({ key, limit: 5, window: '1m' })),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'checks' } });
    for (const key of keys) {
      const peek = await first.fetch(`/v1/counters/${key}?limit=5&window=1m`);
      expect(await peek.json()).toMatchObject({ count: 0 });
    }
  });

  it('deregisters a node at once on SIGTERM', async () => {
    const [first, second] = twoNodes();
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(await first.nodeIds()).toEqual(['cluster-a']);
  });
});
