import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterHarness } from '../../support/redis-cluster.js';
import { answersDuringFault } from '../support/fault-answers.js';
import { ServiceProcess, eventually } from '../../support/service-process.js';

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

  it('answers within the timeout while a master is hung (SIGSTOP), and recovers after its replica takes over', async () => {
    const storeTimeoutMs = 500;
    const faultNodes = await Promise.all(
      (['closed', 'open'] as const).map((mode) =>
        ServiceProcess.start([
          '--redis',
          cluster.url,
          '--node-id',
          `cluster-${mode}`,
          '--failure-mode',
          mode,
          '--store-timeout-ms',
          String(storeTimeoutMs),
        ]),
      ),
    );
    const [closedNode, openNode] = faultNodes as [ServiceProcess, ServiceProcess];
    const key = `hung-master:${Date.now()}`;
    const master = await cluster.ownerOf(await cluster.slotOf(key));
    const replica = (await cluster.nodes()).find((node) => node.masterId === master.id);
    const hung = cluster.server(master.port);
    const started = performance.now();
    hung.pause();
    try {
      // Every check on the hung master's slot: closed answers 503, open a degraded 200, in time.
      const during = await answersDuringFault(faultNodes, 5, () => key);
      expect(during.get(closedNode)?.statuses).toEqual(new Array(5).fill(503));
      expect(during.get(openNode)?.degraded).toBe(5);
      for (const { slowestMs } of during.values()) expect(slowestMs).toBeLessThan(storeTimeoutMs + 1000);

      const recovered = async (node: ServiceProcess) => {
        const response = await node.postJson('/v1/check', { key, limit: 5, window: 60 });
        return (
          response.status === 200 &&
          ((await response.json()) as { degraded?: boolean }).degraded === undefined
        );
      };
      await eventually(() => recovered(closedNode), 'closed node on the promoted replica', 20_000);
      await eventually(() => recovered(openNode), 'open node on the promoted replica', 20_000);
      console.info(`cluster SIGSTOP: recovered after ${Math.round(performance.now() - started)} ms`);
      expect(String(await cluster.command(replica?.port ?? 0, 'ROLE'))).toMatch(/^master/);
    } finally {
      hung.resume();
      // SIGTERM: they deregister, leaving the registry as the next test expects it.
      await Promise.all(faultNodes.map((node) => node.stop('SIGTERM')));
    }
    await cluster.waitUntilHealthy(20_000);
  }, 60_000);

  it('deregisters a node at once on SIGTERM', async () => {
    const [first, second] = twoNodes();
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(await first.nodeIds()).toEqual(['cluster-a']);
  });
});
