import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RlsClient } from '../../../support/rls-client.js';
import { eventually } from '../../../support/service-process.js';
import { InProcessService } from '../../support/in-process-service.js';

/**
 * POST /v1/ratelimit, /v1/forward-auth and rules reloads, on the service composed as `ratelimiter
 * serve` composes it (in this process; a bad rules file at start is test/topology/cli.test.ts's).
 */
const RULES = `
domain: web
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 3 }
  - key: x-api-key
    rate_limit: { unit: minute, requests_per_unit: 1 }
  - key: reload
    rate_limit: { unit: minute, requests_per_unit: 5, algorithm: sliding-window-log }
`;

let dir: string;
let rulesFile: string;
let service: InProcessService;
const run = Date.now().toString(36);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ratelimiter-envoy-http-'));
  rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, RULES);
  service = await InProcessService.start(['--rules', rulesFile], {}, { captureLogs: true });
});

afterAll(async () => {
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ratelimit = (body: unknown) => service.postJson('/v1/ratelimit', body);
const descriptor = (key: string, value: string) => ({ entries: [{ key, value }] });

describe('POST /v1/ratelimit (protojson)', () => {
  it('answers 200 with the response in protojson, then 429 when over the limit', async () => {
    const body = { domain: 'web', descriptors: [descriptor('remote_address', `a-${run}`)] };
    const first = await ratelimit(body);
    expect(first.status).toBe(200);
    const json = (await first.json()) as { statuses: { durationUntilReset: string }[] };
    expect(json).toEqual({
      overallCode: 'OK',
      statuses: [
        {
          code: 'OK',
          currentLimit: { requestsPerUnit: 3, unit: 'MINUTE' },
          limitRemaining: 2,
          durationUntilReset: expect.stringMatching(/^\d+(\.\d{3})?s$/) as unknown,
        },
      ],
    });
    expect(first.headers.get('ratelimit-policy')).toBe('"descriptor-0";q=3;w=60');
    await ratelimit(body);
    await ratelimit(body);
    const over = await ratelimit(body);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Protojson leaves out zero values: limitRemaining 0 is absent.
    expect(await over.json()).toMatchObject({
      overallCode: 'OVER_LIMIT',
      statuses: [{ code: 'OVER_LIMIT' }],
    });
  });

  it('takes proto field names too, numbers as text, and enum names', async () => {
    const response = await ratelimit({
      domain: 'web',
      hits_addend: '2',
      descriptors: [
        {
          entries: [{ key: 'remote_address', value: `b-${run}` }],
          limit: { requests_per_unit: 10, unit: 'HOUR' },
        },
      ],
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      statuses: [{ currentLimit: { requestsPerUnit: 10, unit: 'HOUR' }, limitRemaining: 8 }],
    });
  });

  it.each([
    [{ domain: 'web', descriptors: [] }, 'descriptors'],
    [{ domain: 'web' }, 'descriptors'],
    [{ descriptors: [descriptor('a', 'b')] }, 'domain'],
    [{ domain: 'web', descriptors: [descriptor('a', 'b')], extra: 1 }, 'extra'],
    [
      { domain: 'web', descriptors: [{ entries: [{ key: 'a', value: 7 }] }] },
      'descriptors[0].entries[0].value',
    ],
    [
      { domain: 'web', descriptors: [{ ...descriptor('a', 'b'), hitsAddend: -1 }] },
      'descriptors[0].hitsAddend',
    ],
    [
      { domain: 'web', descriptors: [{ ...descriptor('a', 'b'), limit: { unit: 'DECADE' } }] },
      'descriptors[0].limit.unit',
    ],
    [[], 'body'],
  ])('refuses %j with 400 and our error shape naming %s', async (body, field) => {
    const response = await ratelimit(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_argument', field } });
  });
});

describe('/v1/forward-auth', () => {
  const forwardAuth = (query: string, headers: Record<string, string> = {}, method = 'GET') =>
    service.fetch(`/v1/forward-auth?${query}`, { method, headers });

  it('limits the client address: 3 allowed with the rate-limit headers, the 4th is a 429 with Retry-After', async () => {
    const client = { 'x-forwarded-for': `203.0.113.${(Date.now() % 200) + 1}` };
    const statuses = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await forwardAuth('domain=web', client);
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get('ratelimit-policy')).toBe('"descriptor-0";q=3;w=60');
        expect(last.headers.get('ratelimit')).toMatch(/^"descriptor-0";r=2;t=\d+$/);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last?.json()).toEqual({ overallCode: 'OVER_LIMIT' });
    // Another client, its own counter.
    expect((await forwardAuth('domain=web', { 'x-forwarded-for': '198.51.100.7' })).status).toBe(200);
  });

  it('keys on the hop the proxy wrote with a port, whatever the client writes left of it (issue 18.12)', async () => {
    const statuses = [];
    // 10..209: never 198.51.100.7, which the test above spends a unit of.
    const client = `198.51.100.${(Date.now() % 200) + 10}`;
    for (let i = 0; i < 4; i++) {
      const forwarded = { 'x-forwarded-for': `10.9.${i}.1, ${client}:${40000 + i}` };
      statuses.push((await forwardAuth('domain=web', forwarded)).status);
    }
    // Before the fix: 200, 200, 200, 200 (each request keyed on the client-written 10.9.i.1).
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('builds descriptors from a header when asked; no header, no descriptor, allowed', async () => {
    const key = { 'x-api-key': `key-${run}` };
    expect((await forwardAuth('domain=web&descriptor=header:x-api-key', key)).status).toBe(200);
    expect((await forwardAuth('domain=web&descriptor=header:x-api-key', key)).status).toBe(429);
    expect((await forwardAuth('domain=web&descriptor=header:x-api-key')).status).toBe(200);
  });

  it('takes any method and ignores a body (proxies forward the original request)', async () => {
    const response = await service.fetch('/v1/forward-auth?domain=web&descriptor=method', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'not json',
    });
    expect(response.status).toBe(200);
  });

  it('refuses a missing domain or a bad descriptor spec with 400', async () => {
    expect((await forwardAuth('')).status).toBe(400);
    const bad = await forwardAuth('domain=web&descriptor=cookie:x');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'descriptor' } });
  });
});

describe('rules reload', () => {
  it('a good new file applies within 2 s under traffic, loses no counter and drops no call; a bad one keeps the old', async () => {
    const reloadKey = `r-${run}`;
    const statuses: number[] = [];
    let admitted = 0;
    let stop = false;
    // Bounded traffic on one descriptor across the reloads: 8 in flight, at most 10 s.
    const deadline = Date.now() + 10_000;
    const traffic = Array.from({ length: 8 }, async () => {
      while (!stop && Date.now() < deadline) {
        const response = await ratelimit({ domain: 'web', descriptors: [descriptor('reload', reloadKey)] });
        statuses.push(response.status);
        if (response.status === 200) admitted++;
        await response.arrayBuffer();
      }
    });
    const written = Date.now();
    // An editor's atomic save: a new file renamed over the old one.
    writeFileSync(
      join(dir, 'next.tmp'),
      `${RULES}  - key: fresh\n    rate_limit: { unit: minute, requests_per_unit: 0 }\n`,
    );
    renameSync(join(dir, 'next.tmp'), rulesFile);
    const fresh = { domain: 'web', descriptors: [descriptor('fresh', 'x')] };
    await eventually(async () => (await ratelimit(fresh)).status === 429, 'the new rule to apply', 2000);
    expect(Date.now() - written).toBeLessThan(2000);

    // Atomically too: a write in place can be read half-done (and that is told as well).
    writeFileSync(
      join(dir, 'bad.tmp'),
      'domain: web\ndescriptors:\n  - key: broken\n    rate_limit: { unit: fortnight }\n',
    );
    renameSync(join(dir, 'bad.tmp'), rulesFile);
    await eventually(
      () =>
        Promise.resolve(
          service.logLines.some((line) =>
            line.includes(`${rulesFile}:4: invalid rate limit unit 'fortnight'`),
          ),
        ),
      'the bad file to be logged with its line',
      2000,
    );
    stop = true;
    await Promise.all(traffic);
    // The previous rules stay: `fresh` is still refused, `reload` still counts in the same counter.
    expect((await ratelimit(fresh)).status).toBe(429);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    expect(admitted).toBe(5);
    const metrics = await (await service.fetch('/metrics')).text();
    expect(metrics).toContain('ratelimiter_rules_reloads_total{result="success"} 1');
    expect(metrics).toContain('ratelimiter_rules_reloads_total{result="error"} 1');
    expect(metrics).toMatch(/ratelimiter_rule_hits_total\{domain="web",rule="web\.reload"\} \d+/);
    expect((await service.fetch('/readyz')).status).toBe(200);
  }, 20_000);
});

describe('start with rules', () => {
  it('serves gRPC health SERVING once the rules are loaded, beside /readyz 200', async () => {
    const client = new RlsClient(`127.0.0.1:${service.grpcPort}`);
    try {
      expect(await client.healthCheck()).toBe('SERVING');
      expect((await service.fetch('/readyz')).status).toBe(200);
    } finally {
      client.close();
    }
  });
});
