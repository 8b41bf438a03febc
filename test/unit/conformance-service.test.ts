import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { MemoryStore, RateLimiter, ServiceStore } from '../../src/index.js';
import type { Clock } from '../../src/index.js';
import { ServiceMetrics } from '../../src/metrics/metrics.js';
import { MemoryNodeRegistry } from '../../src/registry/memory-registry.js';
import { describeConformance } from '../conformance/suite.js';

const ADMIN_TOKEN = 'admin-token-conformance-0123456789';
const apps: FastifyInstance[] = [];

/**
 * ServiceStore over real HTTP on loopback to the service's app, whose memory store runs on the
 * suite's clock: the whole suite, leases included, through the wire contract.
 */
async function serviceOn(clock: Clock | undefined): Promise<ServiceStore> {
  const store = new MemoryStore(clock ? { clock } : {});
  const app = await buildApp({
    limiter: new RateLimiter({ store }),
    storeKind: store.kind,
    registry: new MemoryNodeRegistry(),
    metrics: new ServiceMetrics(),
    adminToken: ADMIN_TOKEN,
    version: 'test',
  });
  apps.push(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  // A thousand acquires at once queue for sockets on a loaded machine: the bound is for a stalled app.
  return new ServiceStore({ url, adminToken: ADMIN_TOKEN, timeoutMs: 10_000, maxSockets: 64 });
}

describeConformance('ServiceStore (HTTP to the app on a memory store)', {
  create: serviceOn,
  teardown: async () => {
    await Promise.all(apps.map((app) => app.close()));
  },
});
