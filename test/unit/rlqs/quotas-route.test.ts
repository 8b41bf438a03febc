import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { QuotaService } from '../../../src/envoy/quota-service.js';
import { buildApp } from '../../../src/http/app.js';
import { MeteredLimiter } from '../../../src/metrics/metered-limiter.js';
import { ServiceMetrics } from '../../../src/metrics/metrics.js';
import { MemoryNodeRegistry } from '../../../src/registry/memory-registry.js';
import { MemoryStore, RateLimiter } from '../../../src/index.js';
import type { RuleSet } from '../../../src/rules/types.js';
import { MemoryQuotaStore } from '../../../src/stores/memory/memory-quota-store.js';
import { quotaRuleSet } from '../../support/quota-rules.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
const rules: RuleSet = quotaRuleSet(
  'domain: edge\nquotas:\n  - { bucket: { name: api, tenant: "*" }, requests_per_unit: 100, unit: second }\n',
);

describe('GET /v1/quotas', () => {
  let app: FastifyInstance;
  const clock = new ManualClock();
  const store = new MemoryQuotaStore(clock);

  beforeAll(async () => {
    const metrics = new ServiceMetrics();
    app = await buildApp({
      limiter: new MeteredLimiter(new RateLimiter({ store: new MemoryStore() }), metrics, 'memory'),
      storeKind: 'memory',
      registry: new MemoryNodeRegistry(),
      metrics,
      adminToken: ADMIN_TOKEN,
      version: 'test',
      quotas: { store, rules: () => rules },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('needs the admin token', async () => {
    expect((await app.inject({ url: '/v1/quotas' })).statusCode).toBe(401);
  });

  it('lists each bucket with its limit, proxies, demand and assignments', async () => {
    const service = new QuotaService({
      store,
      rules: () => rules,
      unmatched: 'allow',
      maxTtlS: 30,
      maxBucketsPerStream: 10,
      maxStreams: 10,
      nodeId: 'n1',
      nowMs: () => clock.nowUs() / 1000,
    });
    const stream = service.open();
    const usage = (allowed: number, timeElapsedS: number) => ({
      bucketId: new Map([
        ['name', 'api'],
        ['tenant', 'acme'],
      ]),
      timeElapsedS,
      allowed,
      denied: 0,
    });
    await stream.receive({ domain: 'edge', usages: [usage(1, 0)] });
    clock.advanceMs(1000);
    await stream.receive({ domain: 'edge', usages: [usage(10, 1)] });
    const reply = await app.inject({
      url: '/v1/quotas',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({
      buckets: [
        {
          domain: 'edge',
          bucket: { name: 'api', tenant: 'acme' },
          quota: '{name=api, tenant=*}',
          requestsPerUnit: 100,
          unitSeconds: 1,
          assignedTokensPerFill: 11,
          proxies: [
            {
              stream: stream.id,
              demandPerSecond: 10,
              want: 11,
              tokensPerFill: 11,
              maxTokens: 6,
              expiresInMs: 4000,
            },
          ],
        },
      ],
    });
  });
});
