import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSentinelHarness } from '../../support/redis-sentinel.js';
import { makeTestCertificates } from '../../support/tls.js';
import type { TestCertificates } from '../../support/tls.js';
import { ServiceProcess, eventually } from '../../support/service-process.js';
import { answersDuringFault } from '../support/fault-answers.js';

const STORE_TIMEOUT_MS = 500;
const PASSWORD = 'sentinel-data-secret';

/**
 * The service (not only the store) under Sentinel, over TLS end to end (clients, replication and
 * the sentinel's own links), with a password: registration, exact decisions across nodes, and a
 * master hung with SIGSTOP answered within the timeout per failure mode, then recovered after the
 * failover without a restart.
 */
describe('service nodes on Redis Sentinel over TLS', () => {
  let certificates: TestCertificates;
  let sentinel: RedisSentinelHarness;
  let closedNode: ServiceProcess;
  let openNode: ServiceProcess;

  beforeAll(async () => {
    certificates = await makeTestCertificates();
    sentinel = await RedisSentinelHarness.start({ tls: certificates, password: PASSWORD });
    expect(sentinel.url).toMatch(/^redis\+sentinel:\/\/.*tls=true$/);
    // The service trusts the test CA the way an operator's would: NODE_EXTRA_CA_CERTS.
    const start = (id: string, mode: string) =>
      ServiceProcess.start(
        [
          '--redis',
          sentinel.url,
          '--node-id',
          id,
          '--failure-mode',
          mode,
          '--store-timeout-ms',
          String(STORE_TIMEOUT_MS),
          '--heartbeat-ms',
          '500',
        ],
        { NODE_EXTRA_CA_CERTS: certificates.caFile },
      );
    [closedNode, openNode] = await Promise.all([
      start('sentinel-closed', 'closed'),
      start('sentinel-open', 'open'),
    ]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([closedNode.stop('SIGKILL'), openNode.stop('SIGKILL')]);
    await sentinel.stop();
    certificates.remove();
  });

  it('registers both nodes, admits exactly the limit across them, and never logs the password', async () => {
    await eventually(async () => (await closedNode.nodeIds()).length === 2, 'both nodes listed');
    const key = `sentinel-burst:${Date.now()}`;
    const decisions: { allowed: boolean; degraded?: boolean }[] = [];
    // Ten at a time from both nodes: concurrent, yet far from the store timeout on a loaded machine.
    for (let round = 0; round < 3; round++) {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? closedNode : openNode).postJson('/v1/check', { key, limit: 20, window: '1m' }),
        ),
      );
      decisions.push(...((await Promise.all(responses.map((r) => r.json()))) as typeof decisions));
    }
    expect(decisions.some((d) => d.degraded)).toBe(false);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
    expect([...closedNode.logLines, ...openNode.logLines].join('\n')).not.toContain(PASSWORD);
  });

  it('answers within the timeout while the master is hung (SIGSTOP), and recovers after the failover', async () => {
    const oldMaster = await sentinel.masterPort();
    const promoted = oldMaster === sentinel.master.port ? sentinel.replica.port : sentinel.master.port;
    const hung = sentinel.server(oldMaster);
    const t0 = performance.now();
    const timeline: Record<string, number> = {};
    const mark = (what: string) => (timeline[what] = Math.round(performance.now() - t0));
    hung.pause();
    try {
      const during = await answersDuringFault([closedNode, openNode], 5);
      expect(during.get(closedNode)?.statuses).toEqual(new Array(5).fill(503));
      expect(during.get(openNode)?.degraded).toBe(5);
      for (const { slowestMs } of during.values()) expect(slowestMs).toBeLessThan(STORE_TIMEOUT_MS + 1000);
      expect(closedNode.logLines.join('\n')).not.toContain(PASSWORD);

      mark('answeredMs');
      await sentinel.untilFailedOverTo(promoted);
      mark('failedOverMs');
      const recovered = async (node: ServiceProcess) => {
        const response = await node.postJson('/v1/check', {
          key: `after:${Date.now()}`,
          limit: 5,
          window: 60,
        });
        const body = (await response.json()) as { degraded?: boolean };
        return response.status === 200 && body.degraded === undefined;
      };
      await eventually(() => recovered(closedNode), 'closed node back on the promoted master', 15_000);
      await eventually(() => recovered(openNode), 'open node back on the promoted master', 15_000);
      await eventually(async () => (await closedNode.fetch('/readyz')).status === 200, 'ready again');
      mark('recoveredMs');
    } finally {
      hung.resume();
    }
    // The old master wakes up still a master (Sentinel demotes it on its next INFO, up to 10 s
    // later): decisions must stay on the promoted one.
    const probe = `after-resume:${Date.now()}`;
    for (const node of [closedNode, openNode]) {
      const response = await node.postJson('/v1/check', { key: probe, limit: 5, window: 60 });
      expect(await response.json()).toMatchObject({ allowed: true });
    }
    const written = async (port: number) =>
      ((await sentinel.command(port, 'KEYS', `*{${probe}}*`)) as string[]).length;
    expect(await written(promoted)).toBeGreaterThan(0);
    expect(await written(oldMaster)).toBe(0);
    console.info(`sentinel SIGSTOP: ${JSON.stringify(timeline)}`);
  }, 40_000);
});
