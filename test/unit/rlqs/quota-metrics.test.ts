import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { QuotaService } from '../../../src/envoy/quota-service.js';
import type { UsageReport } from '../../../src/envoy/quota-service.js';
import { QuotaSeries } from '../../../src/metrics/quota-metrics.js';
import { ServiceMetrics } from '../../../src/metrics/metrics.js';
import { MemoryQuotaStore } from '../../../src/stores/memory/memory-quota-store.js';
import { quotaRuleSet } from '../../support/quota-rules.js';

const rules = quotaRuleSet(`domain: edge
quotas:
  - bucket: { name: api, tenant: "*" }
    requests_per_unit: 6000
    unit: minute
    name: api-per-tenant
  - bucket: { name: search }
    requests_per_unit: 10
    unit: second
  - bucket: { name: batch }
    requests_per_unit: 5
    unit: second
`);

function fleet(maxSeries?: number) {
  const clock = new ManualClock();
  const metrics = new ServiceMetrics();
  const nowMs = () => clock.nowUs() / 1000;
  const service = new QuotaService({
    store: new MemoryQuotaStore(clock),
    rules: () => rules,
    unmatched: 'allow',
    maxTtlS: 30,
    maxBucketsPerStream: 10,
    maxStreams: 10,
    nodeId: 'n1',
    nowMs,
    observer: new QuotaSeries(metrics, () => rules, nowMs, maxSeries),
  });
  /** The value of one series in the registry's output, undefined when it is not exposed. */
  const sample = async (name: string, labels: string): Promise<number | undefined> => {
    const line = (await metrics.exposition())
      .split('\n')
      .find((candidate) => candidate.startsWith(`${name}{${labels}} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
  return { clock, metrics, service, sample };
}

const usage = (bucket: Record<string, string>, allowed: number, denied = 0): UsageReport => ({
  bucketId: new Map(Object.entries(bucket)),
  timeElapsedS: 0,
  allowed,
  denied,
});

const TENANT_API = 'domain="edge",quota="api-per-tenant"';
const SEARCH = 'domain="edge",quota="{name=search}"';

describe('per-quota RLQS metrics', () => {
  it("exposes each quota's limit, what this node's streams are assigned, its streams and reported counts", async () => {
    const { clock, metrics, service, sample } = fleet();
    expect(await sample('ratelimiter_rlqs_quota_limit_per_second', TENANT_API)).toBe(100);
    expect(await sample('ratelimiter_rlqs_quota_limit_per_second', SEARCH)).toBe(10);
    expect(await sample('ratelimiter_rlqs_quota_streams', TENANT_API)).toBeUndefined();

    const one = service.open();
    const two = service.open();
    await one.receive({
      domain: 'edge',
      usages: [usage({ name: 'api', tenant: 'secret-tenant-1' }, 0), usage({ name: 'search' }, 0)],
    });
    await two.receive({ domain: 'edge', usages: [usage({ name: 'api', tenant: 'secret-tenant-2' }, 0)] });
    clock.advanceMs(1000);
    // One second of 4 requests allowed and 1 denied on tenant 1: it is assigned its demand + headroom.
    await one.receive({ domain: 'edge', usages: [usage({ name: 'api', tenant: 'secret-tenant-1' }, 4, 1)] });

    expect(await sample('ratelimiter_rlqs_quota_streams', TENANT_API)).toBe(2);
    expect(await sample('ratelimiter_rlqs_quota_buckets', TENANT_API)).toBe(2);
    expect(await sample('ratelimiter_rlqs_quota_streams', SEARCH)).toBe(1);
    // Tenant 1: 5 a second + headroom = 6; tenant 2 alone in its bucket: all 100 of it.
    expect(await sample('ratelimiter_rlqs_quota_assigned_per_second', TENANT_API)).toBe(6 + 100);
    expect(await sample('ratelimiter_rlqs_quota_assigned_per_second', SEARCH)).toBe(9);
    expect(await sample('ratelimiter_rlqs_reported_allowed_total', TENANT_API)).toBe(4);
    expect(await sample('ratelimiter_rlqs_reported_denied_total', TENANT_API)).toBe(1);
    expect(await sample('ratelimiter_rlqs_rebalances_total', TENANT_API)).toBe(1);
    // A "*" entry's buckets are values a client chose: never a label.
    expect(await metrics.exposition()).not.toContain('secret-tenant');
  });

  it('takes a closed stream out at once and a silent one at its TTL', async () => {
    const { clock, service, sample } = fleet();
    const closing = service.open();
    const silent = service.open();
    await closing.receive({ domain: 'edge', usages: [usage({ name: 'search' }, 0)] });
    await silent.receive({ domain: 'edge', usages: [usage({ name: 'search' }, 0)] });
    expect(await sample('ratelimiter_rlqs_quota_streams', SEARCH)).toBe(2);

    await closing.close();
    expect(await sample('ratelimiter_rlqs_quota_streams', SEARCH)).toBe(1);
    // The TTL of a first report is three of Envoy's 5 s intervals.
    clock.advanceMs(14_999);
    expect(await sample('ratelimiter_rlqs_quota_streams', SEARCH)).toBe(1);
    clock.advanceMs(1);
    expect(await sample('ratelimiter_rlqs_quota_streams', SEARCH)).toBeUndefined();
    expect(await sample('ratelimiter_rlqs_quota_assigned_per_second', SEARCH)).toBeUndefined();
  });

  it('bounds the series: past the bound a quota is counted as _other_, and shows no limit', async () => {
    const { service, sample } = fleet(2);
    const stream = service.open();
    await stream.receive({
      domain: 'edge',
      usages: [
        usage({ name: 'search' }, 0),
        usage({ name: 'batch' }, 0),
        usage({ name: 'api', tenant: 't' }, 0),
      ],
    });
    expect(await sample('ratelimiter_rlqs_quota_streams', SEARCH)).toBe(1);
    expect(await sample('ratelimiter_rlqs_quota_streams', 'domain="edge",quota="{name=batch}"')).toBe(1);
    expect(await sample('ratelimiter_rlqs_quota_streams', 'domain="edge",quota="_other_"')).toBe(1);
    expect(await sample('ratelimiter_rlqs_quota_limit_per_second', TENANT_API)).toBeUndefined();
    expect(
      await sample('ratelimiter_rlqs_quota_limit_per_second', 'domain="edge",quota="_other_"'),
    ).toBeUndefined();
  });
});
