import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import { QuotaLimitError, QuotaService } from '../../../src/envoy/quota-service.js';
import type { BucketAction, QuotaServiceOptions, UsageReport } from '../../../src/envoy/quota-service.js';
import type { RuleSet } from '../../../src/rules/types.js';
import { MemoryQuotaStore } from '../../../src/stores/memory/memory-quota-store.js';
import { quotaRuleSet } from '../../support/quota-rules.js';

const RULES = `domain: edge
quotas:
  - bucket: { name: api, tenant: "*" }
    requests_per_unit: 100
    unit: second
  - bucket: { name: closed }
    requests_per_unit: 0
    unit: second
`;

const rules = (): RuleSet => quotaRuleSet(RULES);

function setup(overrides: Partial<QuotaServiceOptions> = {}) {
  const clock = new ManualClock();
  const store = new MemoryQuotaStore(clock);
  const loaded = rules();
  const service = new QuotaService({
    store,
    rules: () => loaded,
    unmatched: 'allow',
    maxTtlS: 30,
    maxBucketsPerStream: 3,
    maxStreams: 2,
    nodeId: 'n1',
    nowMs: () => clock.nowUs() / 1000,
    ...overrides,
  });
  return { clock, store, service };
}

const api = (tenant: string, allowed = 0, denied = 0, timeElapsedS = 0): UsageReport => ({
  bucketId: new Map([
    ['name', 'api'],
    ['tenant', tenant],
  ]),
  timeElapsedS,
  allowed,
  denied,
});

describe('the RLQS service', () => {
  it('answers a first report at once, learns the report interval and sets the TTL from it', async () => {
    const { clock, service } = setup();
    const stream = service.open();
    const [first] = await stream.receive({ domain: 'edge', usages: [api('a', 1)] });
    expect(first).toMatchObject({
      kind: 'assign',
      ttlS: 15,
      strategy: { kind: 'token-bucket', tokensPerFill: 97, fillIntervalS: 1 },
    });
    clock.advanceMs(2000);
    const [second] = await stream.receive({ domain: '', usages: [api('a', 20, 0, 2)] });
    // 20 requests in 2 s: 10 per second, plus headroom; the TTL is three 2 s intervals.
    expect(second).toMatchObject({ ttlS: 6, strategy: { tokensPerFill: 11, maxTokens: 6 } });
  });

  it('caps the TTL by the setting', async () => {
    const { clock, service } = setup({ maxTtlS: 4 });
    const stream = service.open();
    await stream.receive({ domain: 'edge', usages: [api('a')] });
    clock.advanceMs(10_000);
    expect((await stream.receive({ domain: 'edge', usages: [api('a')] }))[0]).toMatchObject({ ttlS: 4 });
  });

  it('gives a closed stream’s share back at once', async () => {
    const { service } = setup();
    const a = service.open();
    const b = service.open();
    await a.receive({ domain: 'edge', usages: [api('x', 1)] });
    expect((await b.receive({ domain: 'edge', usages: [api('x', 1)] }))[0]).toMatchObject({
      strategy: { kind: 'blanket', rule: 'DENY_ALL' },
    });
    await a.close();
    expect((await b.receive({ domain: 'edge', usages: [api('x', 1)] }))[0]).toMatchObject({
      strategy: { tokensPerFill: 97 },
    });
    expect(service.openStreams).toBe(1);
  });

  it('keeps a reconnected proxy on its last assignment rather than deny it while the old grant counts', async () => {
    const { service } = setup();
    const old = service.open();
    await old.receive({ domain: 'edge', usages: [api('x', 1)] });
    const back = service.open();
    expect(await back.receive({ domain: 'edge', usages: [api('x', 50, 0, 5)] })).toEqual([]);
  });

  it('answers unmatched buckets with the blanket of the setting, and a zero quota with a denial', async () => {
    const { service } = setup({ unmatched: 'deny' });
    const stream = service.open();
    const actions = await stream.receive({
      domain: 'edge',
      usages: [
        { ...api('a'), bucketId: new Map([['other', 'x']]) },
        { ...api('a'), bucketId: new Map([['name', 'closed']]) },
      ],
    });
    expect(actions.map((action) => action.kind === 'assign' && action.strategy)).toEqual([
      { kind: 'blanket', rule: 'DENY_ALL' },
      { kind: 'blanket', rule: 'DENY_ALL' },
    ]);
    const other = setup({ unmatched: 'allow' }).service.open();
    const [allowed] = await other.receive({ domain: 'nodomain', usages: [api('a')] });
    expect(allowed).toMatchObject({ strategy: { kind: 'blanket', rule: 'ALLOW_ALL' } });
  });

  it('clamps absurd counts: never above the limit', async () => {
    const { clock, service } = setup();
    const stream = service.open();
    await stream.receive({ domain: 'edge', usages: [api('a')] });
    clock.advanceMs(1);
    const [action] = await stream.receive({
      domain: 'edge',
      usages: [api('a', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)],
    });
    expect(action).toMatchObject({ strategy: { tokensPerFill: 97 } });
  });

  it.each([
    ['no domain', { domain: '', usages: [api('a')] }, 'domain'],
    ['no usage', { domain: 'edge', usages: [] }, 'bucket_quota_usages'],
    [
      'an empty bucket id',
      { domain: 'edge', usages: [{ ...api('a'), bucketId: new Map() }] },
      'bucket_quota_usages[0].bucket_id',
    ],
    ['an empty value', { domain: 'edge', usages: [api('a'), api('')] }, 'bucket_quota_usages[1].bucket_id'],
    [
      'a huge key',
      { domain: 'edge', usages: [{ ...api('a'), bucketId: new Map([['k'.repeat(300), 'v']]) }] },
      'bucket_quota_usages[0].bucket_id',
    ],
  ])('refuses %s as an invalid argument naming the field', async (_name, reports, field) => {
    const stream = setup().service.open();
    const error: unknown = await stream.receive(reports).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe(field);
  });

  it('refuses another domain on the same stream', async () => {
    const stream = setup().service.open();
    await stream.receive({ domain: 'edge', usages: [api('a')] });
    await expect(stream.receive({ domain: 'other', usages: [api('a')] })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('bounds buckets per stream and streams per node (resource exhausted)', async () => {
    const { service } = setup();
    const stream = service.open();
    await stream.receive({ domain: 'edge', usages: [api('a'), api('b'), api('c')] });
    await expect(stream.receive({ domain: 'edge', usages: [api('d')] })).rejects.toBeInstanceOf(
      QuotaLimitError,
    );
    service.open();
    expect(() => service.open()).toThrow(QuotaLimitError);
    await stream.close();
    expect(() => service.open()).not.toThrow();
  });

  it('leaves a report unanswered when the store fails (the proxy keeps its assignment until its TTL)', async () => {
    const failures: unknown[] = [];
    const { service } = setup({
      store: {
        report: () => Promise.reject(new Error('down')),
        release: () => Promise.resolve(),
        holdings: () => Promise.resolve(new Map()),
      },
      onStoreFailure: (error) => failures.push(error),
    });
    expect(await service.open().receive({ domain: 'edge', usages: [api('a')] })).toEqual([]);
    expect(failures).toHaveLength(1);
  });
});

describe('RLQS pushes between reports', () => {
  it('sends a stream a lower share when a new one comes, and a higher one when one leaves', async () => {
    const { service } = setup();
    const [a, b] = [service.open(), service.open()];
    const pushedToA: BucketAction[] = [];
    a.onPush = (actions) => pushedToA.push(...actions);
    b.onPush = () => undefined;
    const share = (actions: readonly BucketAction[]) => {
      const last = actions.at(-1);
      return last?.kind === 'assign' && last.strategy.kind === 'token-bucket'
        ? last.strategy.tokensPerFill
        : 0;
    };
    expect(share(await a.receive({ domain: 'edge', usages: [api('t')] }))).toBe(97);
    // b holds nothing yet (a holds everything), but a is told at once to make room.
    expect((await b.receive({ domain: 'edge', usages: [api('t')] }))[0]).toMatchObject({
      strategy: { kind: 'blanket', rule: 'DENY_ALL' },
    });
    await service.pushed();
    expect(share(pushedToA)).toBe(49);
    // So b's next report finds its share free, without waiting for a's.
    expect(share(await b.receive({ domain: 'edge', usages: [api('t')] }))).toBe(48);
    await b.close();
    await service.pushed();
    expect(share(pushedToA)).toBe(97);
  });
});
