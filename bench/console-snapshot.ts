/**
 * `npm run bench console`, second part: how long `GET /v1/console/snapshot`'s merge takes with 10
 * nodes, one of them hanging (issue 17 asks for 50 ms). Nine peers are real HTTP servers on
 * loopback answering their NodeConsole's report; the node asked waits PEER_TIMEOUT_MS for the
 * hanging one. A figure, not a test: the unit test checks only that the hanging peer is cut off.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FleetConsole, PEER_TIMEOUT_MS } from '../src/console/fleet.js';
import { KeyLabels } from '../src/console/key-labels.js';
import { NodeConsole } from '../src/console/node-report.js';
import { ConsoleRecorder } from '../src/console/recorder.js';
import { RulesStatus } from '../src/console/rules-status.js';
import { ROUTES } from '../src/protocol/routes.js';
import { MemoryNodeRegistry } from '../src/registry/memory-registry.js';
import type { Knobs } from './knobs.js';
import { formatSpread, printTable, spread } from './stats.js';

const NODES = 10;
const CALLS_PER_ROUND = 20;
const AUTHORIZATION = 'Bearer bench-console-admin-token';
const CHECK = { algorithm: 'sliding-window-log', limit: 10, windowMs: 1000 };

function nodeConsole(id: string): NodeConsole {
  const recorder = new ConsoleRecorder();
  const now = Date.now();
  // A busy node's report: 15 minutes of tallies and a full denied-keys summary.
  for (let second = 0; second < 900; second++) {
    for (let i = 0; i < 3; i++)
      recorder.decided(now - second * 1000, `key-${second % 200}-${i}`, CHECK, i > 0, false);
  }
  return new NodeConsole({
    nodeId: id,
    version: '0.0.0-bench',
    storeKind: 'redis',
    recorder,
    rules: new RulesStatus(undefined),
    labels: new KeyLabels('hashed', 'bench-console-secret-0123456789'),
  });
}

function peer(node: NodeConsole | undefined): Promise<Server> {
  const server = createServer((request, response) => {
    if (!node) return; // the hanging peer never answers
    if (request.url !== ROUTES.consoleNode) return void response.writeHead(404).end();
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(node.report(Date.now())));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve(server);
    }),
  );
}

export async function benchConsoleSnapshot(knobs: Pick<Knobs, 'rounds'>): Promise<void> {
  const registry = new MemoryNodeRegistry();
  const asked = nodeConsole('node-0');
  const servers: Server[] = [];
  for (let i = 0; i < NODES; i++) {
    const server = i === 0 ? undefined : await peer(i === NODES - 1 ? undefined : nodeConsole(`node-${i}`));
    if (server) servers.push(server);
    const port = server ? (server.address() as AddressInfo).port : 1;
    const entry = {
      id: `node-${i}`,
      host: '127.0.0.1',
      httpPort: port,
      version: '0.0.0-bench',
      store: 'redis',
    };
    await registry.announce({ ...entry, startedAt: new Date().toISOString() }, 60_000);
  }
  try {
    const fleet = new FleetConsole({ node: asked, registry });
    await fleet.snapshot(AUTHORIZATION); // open the keep-alive connections, as the page's first refresh does
    const elapsed: number[] = [];
    for (let round = 0; round < knobs.rounds * CALLS_PER_ROUND; round++) {
      const startedAt = performance.now();
      const snapshot = await fleet.snapshot(AUTHORIZATION);
      elapsed.push(performance.now() - startedAt);
      if (snapshot.nodes.length !== NODES)
        throw new Error(`the snapshot lists ${snapshot.nodes.length} nodes`);
    }
    const sorted = [...elapsed].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
    printTable(
      `console snapshot: ${NODES} nodes (one hanging, cut off at ${PEER_TIMEOUT_MS} ms), ${elapsed.length} calls`,
      [
        { title: 'ms per snapshot', align: 'right' },
        { title: 'p99 ms', align: 'right' },
      ],
      [[formatSpread(spread(elapsed), 1), p99.toFixed(1)]],
    );
  } finally {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
