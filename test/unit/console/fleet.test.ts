import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetConsole, PEER_TIMEOUT_MS } from '../../../src/console/fleet.js';
import { KeyLabels } from '../../../src/console/key-labels.js';
import { NodeConsole } from '../../../src/console/node-report.js';
import { ConsoleRecorder } from '../../../src/console/recorder.js';
import { RulesStatus } from '../../../src/console/rules-status.js';
import { MemoryNodeRegistry } from '../../../src/registry/memory-registry.js';
import { ROUTES } from '../../../src/protocol/routes.js';

const SECRET = 'fleet-test-secret-0123456789';
const AUTHORIZATION = 'Bearer fleet-test-admin-token-0123';
/**
 * The peers run in this test's own process, so on a loaded machine they can miss the 40 ms the
 * product waits: the test gives them a second, which still cuts the hanging peer off.
 */
const TEST_PEER_TIMEOUT_MS = 1000;
const CHECK = { algorithm: 'sliding-window-log', limit: 10, windowMs: 1000 };

function nodeConsole(id: string, mode: 'hashed' | 'plain' = 'hashed'): NodeConsole {
  return new NodeConsole({
    nodeId: id,
    version: '0.0.0-test',
    storeKind: 'redis',
    recorder: new ConsoleRecorder(),
    rules: new RulesStatus(undefined),
    labels: new KeyLabels(mode, SECRET),
  });
}

/** A peer at a real address: answers its node's report, or `answer` decides. */
function peer(answer: (url: string, authorization: string | undefined) => unknown): Promise<Server> {
  const server = createServer((request, response) => {
    const body = answer(request.url ?? '', request.headers.authorization);
    if (body === 'hang') return; // never answers: the fleet must not wait for it
    if (typeof body === 'number') {
      response.writeHead(body).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(server);
    });
  });
}

describe('FleetConsole: the node asked merges its peers', () => {
  const registry = new MemoryNodeRegistry();
  const servers: Server[] = [];
  const asked = nodeConsole('node-0');
  const now = Date.now();
  let seenAuthorization: string | undefined;

  beforeAll(async () => {
    // node-0 is asked; node-1..7 answer; node-8 never answers; node-9 answers garbage.
    const consoles = Array.from({ length: 8 }, (_, i) =>
      nodeConsole(`node-${i}`, i === 1 ? 'plain' : 'hashed'),
    );
    consoles.forEach((each, i) => {
      for (let n = 0; n < 10 + i; n++) each.options.recorder.decided(now - 2000, 'hot', CHECK, false, false);
      each.options.recorder.decided(now - 2000, `cold-${i}`, CHECK, false, false);
      each.options.recorder.decided(now - 2000, 'ok', CHECK, true, i === 2);
    });
    asked.options.recorder.decided(now - 2000, 'hot', CHECK, false, false);
    for (let i = 0; i < 10; i++) {
      const id = `node-${i}`;
      const server =
        i === 0
          ? undefined
          : await peer((url, authorization) => {
              if (url !== ROUTES.consoleNode) return 404;
              if (i === 8) return 'hang';
              if (i === 9) return { nodeId: id, decisions: 'garbage' };
              seenAuthorization = authorization;
              return consoles[i]?.report(now);
            });
      if (server) servers.push(server);
      const port = server ? (server.address() as AddressInfo).port : 1;
      await registry.announce(
        {
          id,
          host: '127.0.0.1',
          httpPort: port,
          version: '0.0.0-test',
          store: 'redis',
          startedAt: new Date(now - 60_000).toISOString(),
        },
        60_000,
      );
    }
  });

  afterAll(async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('cuts off a hanging peer at its timeout with 10 nodes, and says which did not answer', async () => {
    const fleet = new FleetConsole({ node: asked, registry, peerTimeoutMs: TEST_PEER_TIMEOUT_MS });
    await fleet.snapshot(AUTHORIZATION, now); // warm the connections, as the page's refresh does
    // node-8 never answers: without the cut-off the snapshot would wait for it forever. The 50 ms
    // the issue asks for (PEER_TIMEOUT_MS in the product) is a figure of `npm run bench console`.
    expect(PEER_TIMEOUT_MS).toBeLessThan(50);
    const startedAt = performance.now();
    const snapshot = await fleet.snapshot(AUTHORIZATION, now);
    expect(performance.now() - startedAt).toBeLessThan(TEST_PEER_TIMEOUT_MS + 2000);
    expect(snapshot.nodes).toHaveLength(10);
    const problems = Object.fromEntries(
      snapshot.nodes.map(({ id, reachable, problem }) => [id, reachable ? 'ok' : problem]),
    );
    expect(problems).toEqual({
      'node-0': 'ok',
      'node-1': 'ok',
      'node-2': 'ok',
      'node-3': 'ok',
      'node-4': 'ok',
      'node-5': 'ok',
      'node-6': 'ok',
      'node-7': 'ok',
      'node-8': 'timeout',
      'node-9': 'bad_reply',
    });
    expect(seenAuthorization).toBe(AUTHORIZATION);
  });

  it("merges decisions and denied keys over the nodes that answered, hashing a plain peer's keys", async () => {
    const snapshot = await new FleetConsole({
      node: asked,
      registry,
      peerTimeoutMs: TEST_PEER_TIMEOUT_MS,
    }).snapshot(AUTHORIZATION, now);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    // node-1..7 deny 10+i "hot" and one cold key each; node-0 denies "hot" once.
    const hot = 1 + [1, 2, 3, 4, 5, 6, 7].reduce((total, i) => total + 10 + i, 0);
    expect(sum(snapshot.decisions.fleet.denied)).toBe(hot + 7);
    expect(sum(snapshot.decisions.fleet.allowed)).toBe(7);
    expect(sum(snapshot.decisions.fleet.degraded)).toBe(1);
    expect(Object.keys(snapshot.decisions.byNode)).toHaveLength(8);
    const [top] = snapshot.deniedKeys.top;
    expect(top).toMatchObject({ key: asked.labels.label('hot'), denied: hot, limit: 10 });
    // node-1 shows keys plain; the hashed node asked never lets one through.
    expect(JSON.stringify(snapshot)).not.toMatch(/"(hot|cold-\d)"/);
    expect(snapshot.deniedKeys.counted).toBe(hot + 7);
  });

  it('still answers with itself when the registry cannot be read', async () => {
    const broken = new MemoryNodeRegistry();
    broken.list = () => Promise.reject(new Error('down'));
    const snapshot = await new FleetConsole({
      node: asked,
      registry: broken,
      peerTimeoutMs: TEST_PEER_TIMEOUT_MS,
    }).snapshot(AUTHORIZATION, now);
    expect(snapshot.nodes).toEqual([
      expect.objectContaining({ id: 'node-0', reachable: true, problem: 'registry_unreachable' }),
    ]);
  });
});
