import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_VERSION } from '../../src/config/version.js';
import { RedisServer } from '../../support/redis-server.js';
import { ServiceProcess, eventually } from '../../support/service-process.js';

/** A short pause to let a request reach the server; never used to wait for an outcome. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface DecisionBody {
  allowed: boolean;
  remaining: number;
}

/** Two (and more) real service processes sharing one throwaway redis-server. */
describe('service nodes on one Redis', () => {
  let redis: RedisServer;
  let nodeA: ServiceProcess;
  let nodeB: ServiceProcess;
  const started: ServiceProcess[] = [];

  async function startNode(id: string, extra: string[] = []): Promise<ServiceProcess> {
    // A generous store timeout: these tests are about exactness, not about timeouts on a busy CI box.
    const node = await ServiceProcess.start([
      '--redis',
      redis.url,
      '--node-id',
      id,
      '--store-timeout-ms',
      '2000',
      ...extra,
    ]);
    started.push(node);
    return node;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    [nodeA, nodeB] = await Promise.all([startNode('node-a'), startNode('node-b')]);
  });

  afterAll(async () => {
    await Promise.all(started.map((node) => node.stop('SIGKILL')));
    await redis.stop();
  });

  it('lists both nodes from either node', async () => {
    // Each node's first heartbeat follows its listening line: wait for it rather than race it.
    await eventually(async () => (await nodeA.nodeIds()).length === 2, 'both nodes to be listed by node-a');
    await eventually(async () => (await nodeB.nodeIds()).length === 2, 'both nodes to be listed by node-b');
    expect((await nodeA.nodeIds()).sort()).toEqual(['node-a', 'node-b']);
    expect((await nodeB.nodeIds()).sort()).toEqual(['node-a', 'node-b']);
    const response = await nodeA.fetch('/v1/nodes');
    const { nodes } = (await response.json()) as { nodes: Record<string, unknown>[] };
    for (const node of nodes) {
      expect(node).toMatchObject({ host: '127.0.0.1', store: 'redis', version: PACKAGE_VERSION });
      expect(Date.parse(String(node.lastHeartbeatAt))).not.toBeNaN();
    }
    expect(await (await nodeA.fetch('/metrics')).text()).toMatch(/^ratelimiter_live_nodes 2$/m);
  });

  it('admits exactly the limit of 400 concurrent checks spread over both nodes', async () => {
    const key = `burst:${Date.now()}`;
    const responses = await Promise.all(
      Array.from({ length: 400 }, (_, index) =>
        (index % 2 === 0 ? nodeA : nodeB).postJson('/v1/check', { key, limit: 100, window: '1m' }),
      ),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const decisions = await Promise.all(
      responses.map((response) => response.json() as Promise<DecisionBody>),
    );
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(100);
  });

  it('sends RateLimit headers on allowed and denied decisions, Retry-After only when denied', async () => {
    const key = `headers:${Date.now()}`;
    const allowed = await nodeA.postJson('/v1/check', { key, limit: 1, window: 60 });
    expect(allowed.headers.get('ratelimit-policy')).toBe('"default";q=1;w=60');
    expect(allowed.headers.get('ratelimit')).toBe('"default";r=0;t=60');
    expect(allowed.headers.get('retry-after')).toBeNull();

    const denied = await nodeB.postJson('/v1/check', { key, limit: 1, window: 60 });
    expect(((await denied.json()) as DecisionBody).allowed).toBe(false);
    expect(denied.headers.get('ratelimit-policy')).toBe('"default";q=1;w=60');
    expect(denied.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(denied.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('decides an atomic batch over both nodes: all recorded or none, never part', async () => {
    const key = `atomic:${Date.now()}`;
    const body = {
      atomic: true,
      checks: [
        { key, limit: 30, window: '1m', cost: 2 },
        { key, limit: 45, window: '1h', algorithm: 'token-bucket' },
        { key: `${key}:tenant`, limit: 1000, window: '1d', algorithm: 'fixed-window', cost: 3 },
      ],
    };
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        (index % 2 === 0 ? nodeA : nodeB).postJson('/v1/checks', body),
      ),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const batches = await Promise.all(
      responses.map((response) => response.json() as Promise<{ allowed: boolean; results: DecisionBody[] }>),
    );
    // The per-minute limit binds first: 15 batches of cost 2.
    expect(batches.filter((batch) => batch.allowed)).toHaveLength(15);
    const peek = async (path: string) =>
      ((await (await nodeA.fetch(path)).json()) as DecisionBody & { count: number }).count;
    expect(await peek(`/v1/counters/${key}?limit=30&window=1m`)).toBe(30);
    expect(await peek(`/v1/counters/${key}?limit=45&window=1h&algorithm=token-bucket`)).toBe(15);
    expect(await peek(`/v1/counters/${key}:tenant?limit=1000&window=1d&algorithm=fixed-window`)).toBe(45);
    const denied = batches.find((batch) => !batch.allowed);
    expect(denied?.results.map((decision) => decision.allowed)).toEqual([false, false, false]);
    const repeated = await nodeA.postJson('/v1/checks', {
      atomic: true,
      checks: [body.checks[0], body.checks[0]],
    });
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'checks[1]' } });
  });

  it('deregisters a node at once on SIGTERM', async () => {
    const leaving = await startNode('node-term');
    await eventually(async () => (await nodeA.nodeIds()).includes('node-term'), 'node-term to be listed');
    expect(await leaving.stop('SIGTERM')).toBe(0);
    expect(await nodeA.nodeIds()).not.toContain('node-term');
  });

  it('finishes an in-flight check on SIGTERM, then exits 0', async () => {
    const draining = await startNode('node-drain');
    redis.pause();
    try {
      // Redis is frozen, so this check is held in flight inside the node.
      const inFlight = draining.postJson('/v1/check', { key: `drain:${Date.now()}`, limit: 1, window: 60 });
      // Time for the request to reach the node on a loaded machine (nothing can answer it meanwhile).
      await pause(400);
      const exited = draining.stop('SIGTERM');
      await pause(150);
      redis.resume();
      expect((await inFlight).status).toBe(200);
      expect(await exited).toBe(0);
    } finally {
      redis.resume();
    }
  });

  it('ages out a node killed with SIGKILL within its TTL', async () => {
    const doomed = await startNode('node-kill', ['--heartbeat-ms', '200']);
    await eventually(async () => (await nodeA.nodeIds()).includes('node-kill'), 'node-kill to be listed');
    await doomed.stop('SIGKILL');
    // Three heartbeats of 200 ms: gone well within the deadline, without a fixed sleep.
    await eventually(
      async () => !(await nodeA.nodeIds()).includes('node-kill'),
      'node-kill to age out',
      5000,
    );
    expect((await nodeA.nodeIds()).sort()).toEqual(['node-a', 'node-b']);
  });

  it('is not ready while Redis is down and ready again after it returns', async () => {
    const [closedNode, localNode] = await Promise.all([
      startNode('node-closed', ['--failure-mode', 'closed']),
      startNode('node-local', ['--failure-mode', 'local']),
    ]);
    const openNode = nodeA; // open is the default
    expect((await nodeA.fetch('/readyz')).status).toBe(200);
    await redis.kill();
    const down = await nodeA.fetch('/readyz');
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    const check = await closedNode.postJson('/v1/check', { key: 'while-down', limit: 1, window: 1 });
    expect(check.status).toBe(503);
    expect(await check.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    expect((await nodeA.fetch('/healthz')).status).toBe(200);

    // The failure modes: open allows without counting, local decides on this node's share.
    const open = await openNode.postJson('/v1/check', { key: 'while-down', limit: 100, window: 60 });
    expect(open.status).toBe(200);
    expect(open.headers.get('ratelimiter-degraded')).toBe('true');
    expect(await open.json()).toMatchObject({ allowed: true, degraded: true });
    for (let i = 0; i < 20; i++)
      await openNode.postJson('/v1/check', { key: 'while-down', limit: 100, window: 60 });
    // Log lines are written after the reply, asynchronously: wait for the warning, then count.
    const warnings = () => openNode.logLines.filter((line) => line.includes('store unavailable'));
    await eventually(() => Promise.resolve(warnings().length > 0), 'the store-unavailable warning');
    expect(warnings()).toHaveLength(1);
    const local = await localNode.postJson('/v1/check', { key: 'while-down', limit: 100, window: 60 });
    expect(local.status).toBe(200);
    const localDecision = (await local.json()) as DecisionBody & { limit: number; degraded?: boolean };
    expect(localDecision).toMatchObject({ allowed: true, degraded: true, count: 1 });
    expect(localDecision.limit).toBeLessThanOrEqual(100);
    const metrics = await (await openNode.fetch('/metrics')).text();
    expect(metrics).toMatch(/^ratelimiter_degraded_decisions_total 21$/m);
    expect(metrics).toMatch(/^ratelimiter_store_errors_total\{operation="decision"\} [1-9]/m);

    await redis.restart();
    await eventually(async () => (await nodeA.fetch('/readyz')).status === 200, 'readyz to be 200 again');
    expect((await nodeA.postJson('/v1/check', { key: 'after-restart', limit: 1, window: 1 })).status).toBe(
      200,
    );
  });
});
