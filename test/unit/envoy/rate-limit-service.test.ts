import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import { ManualClock, MemoryStore, RateLimiter } from '../../../src/index.js';
import { ServiceMetrics } from '../../../src/metrics/metrics.js';
import { RuleSeries } from '../../../src/metrics/rule-stats.js';
import { buildRules } from '../../../src/rules/load.js';
import { RateLimitService, descriptorKey } from '../../../src/envoy/rate-limit-service.js';
import type { RateLimitServiceOptions } from '../../../src/envoy/rate-limit-service.js';
import type { RateLimitDescriptor, RateLimitRequest } from '../../../src/envoy/types.js';
import { MAX_UINT32 } from '../../../src/envoy/types.js';

const RULES = `
domain: web
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 3 }
  - key: blocked
    rate_limit: { unit: minute, requests_per_unit: 0 }
  - key: static
    rate_limit: { unlimited: true, replaces: [{ name: per_client }] }
  - key: client
    rate_limit: { name: per_client, unit: minute, requests_per_unit: 1 }
  - key: region
    rate_limit: { name: region, unit: hour, requests_per_unit: 100, replaces: [{ name: per_client }] }
  - key: canary
    shadow_mode: true
    rate_limit: { unit: minute, requests_per_unit: 1 }
  - key: quota
    quota_mode: true
    rate_limit: { unit: minute, requests_per_unit: 1 }
  - key: bucket
    value: files/*
    share_threshold: true
    rate_limit: { unit: minute, requests_per_unit: 2 }
  - key: token
    rate_limits:
      - { unit: second, requests_per_unit: 2, algorithm: token-bucket }
      - { unit: hour, requests_per_unit: 3, name: hourly }
  - key: sliding
    rate_limit: { unit: second, unit_multiplier: 10, requests_per_unit: 2, algorithm: sliding-window-log }
`;

const rules = buildRules({ files: [{ file: 'inline.yaml', text: RULES }], fingerprint: '' }).rules;

function setup(options: Partial<RateLimitServiceOptions> = {}) {
  // A minute boundary plus 10 s: fixed windows are aligned to the epoch.
  const clock = new ManualClock(1_800_000_000_000_000 + 10_000_000);
  const store = new MemoryStore({ clock });
  const limiter = new RateLimiter({ store });
  const metrics = new ServiceMetrics();
  const shadowed: string[] = [];
  const service = new RateLimitService({
    limiter,
    rules: () => rules,
    stats: new RuleSeries(metrics, (domain) => rules.domains.has(domain)),
    onShadowed: (domain, rule) => shadowed.push(`${domain}:${rule}`),
    ...options,
  });
  const ask = (descriptors: RateLimitDescriptor[], extra: Partial<RateLimitRequest> = {}) =>
    service.shouldRateLimit({ domain: 'web', descriptors, ...extra });
  return { clock, store, metrics, service, shadowed, ask };
}

const one = (key: string, value: string, extra: Partial<RateLimitDescriptor> = {}): RateLimitDescriptor => ({
  entries: [{ key, value }],
  ...extra,
});

async function metric(
  metrics: ServiceMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const found = metrics.registry.getSingleMetric(name);
  if (!found) throw new Error(`no metric ${name}`);
  const { values } = await found.get();
  return values.find((value) => Object.entries(labels).every(([k, v]) => value.labels[k] === v))?.value ?? 0;
}

describe('RateLimitService (memory store, manual clock)', () => {
  it('decides a fixed window as the reference service: OK, OK, OK, OVER_LIMIT, with what is left and the reset', async () => {
    const { ask } = setup();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask([one('remote_address', '10.0.0.1')]));
    expect(answers.map(({ overallCode }) => overallCode)).toEqual(['OK', 'OK', 'OK', 'OVER_LIMIT']);
    expect(answers.map(({ statuses }) => statuses[0]?.limitRemaining)).toEqual([2, 1, 0, 0]);
    expect(answers[0]?.statuses[0]).toEqual({
      code: 'OK',
      currentLimit: { name: undefined, requestsPerUnit: 3, unit: 'minute' },
      limitRemaining: 2,
      durationUntilResetMs: 50_000,
    });
    expect(answers[3]?.statuses[0]?.durationUntilResetMs).toBe(50_000);
    // Another address has its own counter.
    expect((await ask([one('remote_address', '10.0.0.2')])).overallCode).toBe('OK');
  });

  it('a new window admits again', async () => {
    const { ask, clock } = setup();
    for (let i = 0; i < 3; i++) await ask([one('remote_address', 'a')]);
    expect((await ask([one('remote_address', 'a')])).overallCode).toBe('OVER_LIMIT');
    clock.advanceMs(50_000);
    expect((await ask([one('remote_address', 'a')])).overallCode).toBe('OK');
  });

  it('hits_addend: per request, per descriptor (0 = check only), and more than the limit is over it', async () => {
    const { ask } = setup();
    expect((await ask([one('remote_address', 'h')], { hitsAddend: 2 })).statuses[0]?.limitRemaining).toBe(1);
    expect(
      (await ask([one('remote_address', 'h', { hitsAddend: 0 })], { hitsAddend: 5 })).statuses[0],
    ).toMatchObject({
      code: 'OK',
      limitRemaining: 1,
    });
    // 4 > 3: never admissible, answered over the limit without recording anything.
    expect((await ask([one('remote_address', 'h', { hitsAddend: 4 })])).overallCode).toBe('OVER_LIMIT');
    expect((await ask([one('remote_address', 'h')])).statuses[0]).toMatchObject({
      code: 'OK',
      limitRemaining: 0,
    });
  });

  it('requests_per_unit 0 always denies, yet a check-only request is OK', async () => {
    const { ask } = setup();
    expect((await ask([one('blocked', 'x')])).overallCode).toBe('OVER_LIMIT');
    expect((await ask([one('blocked', 'x', { hitsAddend: 0 })])).overallCode).toBe('OK');
  });

  it('no match is OK with no limit; unlimited is OK with the largest remaining, without touching the store', async () => {
    const { ask, store } = setup();
    const answer = await ask([one('nothing', 'x'), one('static', 'x')]);
    expect(answer.statuses).toEqual([
      { code: 'OK', limitRemaining: 0 },
      { code: 'OK', limitRemaining: MAX_UINT32 },
    ]);
    expect(store.stats().counters).toBe(0);
    expect((await ask([one('x', 'y')], { domain: 'unknown' })).overallCode).toBe('OK');
  });

  it('replaces drops the named limit from the whole request (an unlimited rule may replace too)', async () => {
    const { ask } = setup();
    await ask([one('client', 'c1')]);
    // Alone, per_client (1/min) is spent; with region (which replaces it), it does not apply.
    expect((await ask([one('client', 'c1')])).overallCode).toBe('OVER_LIMIT');
    const replaced = await ask([one('client', 'c1'), one('region', 'eu')]);
    expect(replaced.overallCode).toBe('OK');
    expect(replaced.statuses[0]).toEqual({ code: 'OK', limitRemaining: 0 });
    expect((await ask([one('client', 'c1'), one('static', 's')])).overallCode).toBe('OK');
  });

  it('shadow mode per rule: over the limit is answered OK, counted and told', async () => {
    const { ask, metrics, shadowed } = setup();
    await ask([one('canary', 'x')]);
    const answer = await ask([one('canary', 'x')]);
    expect(answer.overallCode).toBe('OK');
    expect(answer.statuses[0]?.code).toBe('OK');
    expect(shadowed).toEqual(['web:web.canary']);
    expect(await metric(metrics, 'ratelimiter_rule_shadow_mode_total', { rule: 'web.canary' })).toBe(1);
    expect(await metric(metrics, 'ratelimiter_rule_over_limit_total', { rule: 'web.canary' })).toBe(1);
  });

  it('an answer turned OK by a shadow or quota mode carries no Retry-After', async () => {
    const { ask } = setup({ shadowMode: true, responseHeaders: 'draft' });
    for (let i = 0; i < 3; i++) await ask([one('remote_address', 's')]);
    const shadowed = await ask([one('remote_address', 's')]);
    expect(shadowed.overallCode).toBe('OK');
    expect(shadowed.responseHeadersToAdd.map(({ key }) => key)).toEqual(['RateLimit-Policy', 'RateLimit']);
    expect(shadowed.policies.every(({ decision }) => decision.allowed)).toBe(true);
    const { ask: askStrict } = setup({ responseHeaders: 'draft' });
    for (let i = 0; i < 3; i++) await askStrict([one('remote_address', 's')]);
    const over = await askStrict([one('remote_address', 's')]);
    expect(over.responseHeadersToAdd.map(({ key }) => key)).toContain('Retry-After');
  });

  it('global shadow mode: the overall code is OK, the statuses still tell the truth', async () => {
    const { ask, metrics } = setup({ shadowMode: true });
    for (let i = 0; i < 3; i++) await ask([one('remote_address', 'g')]);
    const answer = await ask([one('remote_address', 'g')]);
    expect(answer.overallCode).toBe('OK');
    expect(answer.statuses[0]?.code).toBe('OVER_LIMIT');
    expect(await metric(metrics, 'ratelimiter_global_shadow_mode_total', { domain: 'web' })).toBe(1);
  });

  it('quota mode: over only when every quota descriptor is over; the status still says OVER_LIMIT', async () => {
    const { ask } = setup();
    await ask([one('quota', 'q')]);
    const mixed = await ask([one('quota', 'q'), one('remote_address', 'm')]);
    expect(mixed.overallCode).toBe('OVER_LIMIT');
    const onlyQuota = await ask([one('quota', 'q')]);
    expect(onlyQuota.overallCode).toBe('OVER_LIMIT');
    expect(onlyQuota.statuses[0]?.code).toBe('OVER_LIMIT');
    const { ask: askGlobal } = setup({ quotaMode: true });
    for (let i = 0; i < 3; i++) await askGlobal([one('remote_address', 'm')]);
    // Every descriptor in quota mode, one of two over: OK overall.
    const partly = await askGlobal([one('remote_address', 'm'), one('remote_address', 'n')]);
    expect(partly.statuses.map(({ code }) => code)).toEqual(['OVER_LIMIT', 'OK']);
    expect(partly.overallCode).toBe('OK');
  });

  it('share_threshold: every value matching the wildcard shares one counter', async () => {
    const { ask } = setup();
    expect((await ask([one('bucket', 'files/a')])).overallCode).toBe('OK');
    expect((await ask([one('bucket', 'files/b')])).overallCode).toBe('OK');
    expect((await ask([one('bucket', 'files/c')])).overallCode).toBe('OVER_LIMIT');
  });

  it('a limit override applies instead of the rule', async () => {
    const { ask } = setup();
    const override = { requestsPerUnit: 1, unit: 'hour' as const };
    const first = await ask([one('remote_address', 'o', { limit: override })]);
    expect(first.statuses[0]).toMatchObject({
      code: 'OK',
      currentLimit: { requestsPerUnit: 1, unit: 'hour' },
    });
    expect((await ask([one('remote_address', 'o', { limit: override })])).overallCode).toBe('OVER_LIMIT');
  });

  it('rate_limits: several limits on one descriptor, checked atomically', async () => {
    const { ask, clock } = setup();
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await ask([one('token', 't')])).overallCode);
    // Token bucket of 2 per second: the third is refused, and the hourly limit is not charged for it.
    expect(codes).toEqual(['OK', 'OK', 'OVER_LIMIT']);
    clock.advanceMs(1000);
    const third = await ask([one('token', 't')]);
    expect(third.overallCode).toBe('OK');
    // The status reports the tightest limit: the hourly one now has 0 left.
    expect(third.statuses[0]).toMatchObject({
      currentLimit: { name: 'hourly', requestsPerUnit: 3 },
      limitRemaining: 0,
    });
    clock.advanceMs(1000);
    const fourth = await ask([one('token', 't')]);
    expect(fourth.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', currentLimit: { name: 'hourly' } });
  });

  it('sliding windows with unit_multiplier: a window of 10 seconds, sliding', async () => {
    const { ask, clock } = setup();
    expect((await ask([one('sliding', 's')])).overallCode).toBe('OK');
    clock.advanceMs(6000);
    expect((await ask([one('sliding', 's')])).overallCode).toBe('OK');
    clock.advanceMs(3000);
    expect((await ask([one('sliding', 's')])).overallCode).toBe('OVER_LIMIT');
    clock.advanceMs(1001);
    expect((await ask([one('sliding', 's')])).overallCode).toBe('OK');
  });

  it('response headers: the IETF draft pair, or the reference service three', async () => {
    const draft = await setup({ responseHeaders: 'draft' }).ask([one('remote_address', 'r')]);
    expect(draft.responseHeadersToAdd).toEqual([
      { key: 'RateLimit-Policy', value: '"descriptor-0";q=3;w=60' },
      { key: 'RateLimit', value: '"descriptor-0";r=2;t=50' },
    ]);
    const reference = await setup({ responseHeaders: 'reference' }).ask([one('remote_address', 'r')]);
    expect(reference.responseHeadersToAdd).toEqual([
      { key: 'RateLimit-Limit', value: '3' },
      { key: 'RateLimit-Remaining', value: '2' },
      { key: 'RateLimit-Reset', value: '50' },
    ]);
    expect((await setup().ask([one('remote_address', 'r')])).responseHeadersToAdd).toEqual([]);
  });

  it('refuses what Envoy would never send, naming the field', async () => {
    const { service } = setup();
    const refused = async (request: unknown) => {
      const error: unknown = await service
        .shouldRateLimit(request as RateLimitRequest)
        .catch((e: unknown) => e);
      if (!(error instanceof InvalidArgumentError)) throw new Error('accepted');
      return error.field;
    };
    expect(await refused({ domain: '', descriptors: [one('a', 'b')] })).toBe('domain');
    expect(await refused({ domain: 'web', descriptors: [] })).toBe('descriptors');
    expect(await refused({ domain: 'web', descriptors: [{ entries: [] }] })).toBe('descriptors[0].entries');
    expect(await refused({ domain: 'web', descriptors: [one('', 'b')] })).toBe(
      'descriptors[0].entries[0].key',
    );
    expect(await refused({ domain: 'web', descriptors: [one('a', '\uD800')] })).toBe(
      'descriptors[0].entries[0].value',
    );
    const many = Array.from({ length: 101 }, () => one('a', 'b'));
    expect(await refused({ domain: 'web', descriptors: many })).toBe('descriptors');
    const override = { requestsPerUnit: 2_000_000_000, unit: 'second' };
    expect(
      await refused({ domain: 'web', descriptors: [one('a', 'b'), { ...one('a', 'b'), limit: override }] }),
    ).toBe('descriptors[1].limit.requestsPerUnit');
    // Each within its limit, together more than one batch may spend: the batch is named.
    const huge = { requestsPerUnit: 1_000_000_000, unit: 'second' };
    const costly = { ...one('a', 'b'), limit: huge, hitsAddend: 600_000_000 };
    expect(await refused({ domain: 'web', descriptors: [costly, costly] })).toBe('descriptors');
  });

  it('per-rule metrics in units, with bounded cardinality', async () => {
    const metrics = new ServiceMetrics();
    const series = new RuleSeries(metrics, (domain) => domain === 'web', 2);
    const { ask } = setup({ stats: series });
    await ask([one('remote_address', 'a')], { hitsAddend: 3 });
    await ask([one('remote_address', 'a')]);
    await ask([one('canary', 'x'), one('blocked', 'y')]);
    expect(await metric(metrics, 'ratelimiter_rule_hits_total', { rule: 'web.remote_address' })).toBe(4);
    expect(await metric(metrics, 'ratelimiter_rule_within_limit_total', { rule: 'web.remote_address' })).toBe(
      3,
    );
    expect(await metric(metrics, 'ratelimiter_rule_near_limit_total', { rule: 'web.remote_address' })).toBe(
      1,
    );
    expect(await metric(metrics, 'ratelimiter_rule_over_limit_total', { rule: 'web.remote_address' })).toBe(
      1,
    );
    // The third distinct rule is past the bound of 2: counted, as _other_.
    expect(await metric(metrics, 'ratelimiter_rule_hits_total', { rule: '_other_' })).toBe(1);
  });

  it('counter keys keep distinct descriptors apart, and stay within the key bound', () => {
    const none = new Map<number, string>();
    const a = descriptorKey('d', [{ key: 'a_b', value: 'c' }], none);
    const b = descriptorKey('d', [{ key: 'a', value: 'b_c' }], none);
    const c = descriptorKey('d', [{ key: 'a', value: 'b|x=y' }], none);
    const d = descriptorKey(
      'd',
      [
        { key: 'a', value: 'b' },
        { key: 'x', value: 'y' },
      ],
      none,
    );
    expect(new Set([a, b, c, d]).size).toBe(4);
    const long = descriptorKey('d', [{ key: 'path', value: 'x'.repeat(4000) }], none);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(512);
    expect(long).not.toBe(descriptorKey('d', [{ key: 'path', value: 'x'.repeat(3999) }], none));
  });
});
