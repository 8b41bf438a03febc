import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessService } from '../../support/in-process-service.js';

/**
 * Security review by fuzzing: random inputs to every route of the service's app (composed as
 * `ratelimiter serve` composes it), for a bounded number of runs and time. No input may cause a
 * 5xx, a crash or memory growth, and no key may reach another key's counters. (Keys apart on
 * Redis's layout: the same key table runs against Redis in test/redis/redis-store.test.ts.)
 */
const ADMIN_TOKEN = 'fuzz-admin-token-must-never-be-logged';
const RUNS = 250;
const TIME_LIMIT_MS = 8000;

let service: InProcessService;

beforeAll(async () => {
  service = await InProcessService.start(
    ['--admin-token', ADMIN_TOKEN, '--log-level', 'debug'],
    {},
    {
      captureLogs: true,
    },
  );
});

afterAll(async () => {
  await service.stop();
});

const rssMb = () => process.memoryUsage().rss / (1024 * 1024);

/** A JSON value that looks a little like a check, mixed with anything at all. */
const checkish = fc.oneof(
  fc.record(
    {
      key: fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 600 }), fc.jsonValue()),
      limit: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(1e308), fc.jsonValue()),
      window: fc.oneof(fc.string(), fc.double(), fc.constantFrom('1s', '500ms', '1d', '0s', '367d', '1e3s')),
      cost: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
      algorithm: fc.oneof(fc.string(), fc.constantFrom('sliding-window-log', 'token-bucket', 'fixed-window')),
      atomic: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

/** Lease ids: ours in form, near misses, and anything. */
const leaseIdish = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{22}$/),
  fc.string({ maxLength: 80 }),
  fc.constantFrom('', '..', '%2F', 'AAAAAAAAAAAAAAAAAAAAAA/renew'),
);

const leaseish = fc.oneof(
  fc.record(
    {
      key: fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 600 }), fc.jsonValue()),
      limit: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(1_000_000, 1_000_001), fc.jsonValue()),
      ttl: fc.oneof(fc.string(), fc.double(), fc.constantFrom('99ms', '100ms', '1h', '61m', '1e3s')),
      cost: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

/** The lease routes: acquire, renew by id, release by id with (or without) the key. */
const leaseRequest = fc.oneof(
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/v1/leases'),
    body: leaseish.map((v) => JSON.stringify(v)),
    contentType: fc.constant('application/json'),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: leaseIdish.map((id) => `/v1/leases/${encodeURIComponent(id)}/renew`),
    body: leaseish.map((v) => JSON.stringify(v)),
    contentType: fc.constant('application/json'),
  }),
  fc.record({
    method: fc.constantFrom('DELETE', 'GET', 'PUT'),
    path: fc
      .tuple(leaseIdish, fc.option(fc.string({ maxLength: 600 })))
      .map(
        ([id, key]) =>
          `/v1/leases/${encodeURIComponent(id)}${key === null ? '' : `?key=${encodeURIComponent(key)}`}`,
      ),
    body: fc.constant(''),
    contentType: fc.constant(''),
  }),
);

const request = fc.oneof(
  leaseRequest,
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/v1/check'),
    body: fc.oneof(
      checkish.map((v) => JSON.stringify(v)),
      fc.string(),
      fc.uint8Array().map((b) => Buffer.from(b).toString('latin1')),
    ),
    contentType: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      '',
      'application/x-www-form-urlencoded',
    ),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/v1/checks'),
    body: fc
      .record(
        { checks: fc.oneof(fc.array(checkish, { maxLength: 120 }), fc.jsonValue()), atomic: fc.jsonValue() },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    contentType: fc.constant('application/json'),
  }),
  fc.record({
    method: fc.constantFrom('GET', 'DELETE'),
    path: fc
      .tuple(fc.string({ maxLength: 600 }), fc.string(), fc.string(), fc.string())
      .map(([key, limit, window, algorithm]) => {
        const query = new URLSearchParams({ limit, window, algorithm });
        return `/v1/counters/${encodeURIComponent(key)}?${query.toString()}`;
      }),
    body: fc.constant(''),
    contentType: fc.constant(''),
  }),
  fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    path: fc.oneof(
      fc.constantFrom(
        '/healthz',
        '/readyz',
        '/metrics',
        '/v1/nodes',
        '/openapi.json',
        '/v1/check',
        '/v1/checks',
      ),
      fc.webPath(),
    ),
    body: fc.string(),
    contentType: fc.constantFrom('application/json', ''),
  }),
);

const authorization = fc.constantFrom(undefined, `Bearer ${ADMIN_TOKEN}`, 'Bearer wrong', 'Basic xyz', '');

describe('fuzzing every route of the service app', () => {
  it('never answers 5xx, never crashes, and does not grow its memory', async () => {
    const rssBefore = rssMb();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, authorization, async ({ method, path, body, contentType }, auth) => {
        const headers: Record<string, string> = {};
        if (contentType) headers['content-type'] = contentType;
        if (auth !== undefined) headers.authorization = auth;
        const hasBody = method !== 'GET' && method !== 'HEAD' && body !== '';
        // Injected as sent: a path such as `//x` must reach the router unresolved.
        const response = await service.fetch(path, { method, headers, ...(hasBody ? { body } : {}) });
        const text = await response.text();
        sent++;
        expect(
          response.status,
          `${method} ${path} ${body.slice(0, 200)} -> ${text.slice(0, 300)}`,
        ).toBeLessThan(500);
        if (response.status >= 400 && method !== 'HEAD') {
          const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
          expect(typeof error?.code).toBe('string');
          expect(typeof error?.message).toBe('string');
        }
      }),
      { numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
    );
    expect(sent).toBeGreaterThan(50);
    expect((await service.fetch('/healthz')).status).toBe(200);
    expect(rssMb() - rssBefore).toBeLessThan(64);
  }, 60_000);

  it('keeps keys with braces, colons, newlines, NUL and long unicode apart', async () => {
    const run = Date.now().toString(36);
    const keys = [
      `a${run}`,
      `a${run}}`,
      `{a${run}}`,
      `a${run}}:swl2:60000`,
      `a${run}:swl2:60000`,
      `a${run}\n`,
      `a${run}\u0000`,
      `a${run}%7D`,
      `${'é'.repeat(250)}${run}`.slice(0, 256),
    ];
    for (const key of keys) {
      const response = await service.postJson('/v1/check', { key, limit: 1, window: '1m' });
      expect(await response.json(), JSON.stringify(key)).toMatchObject({ allowed: true, count: 1 });
    }
    for (const key of keys) {
      const response = await service.fetch(`/v1/counters/${encodeURIComponent(key)}?limit=1&window=1m`);
      expect(await response.json(), JSON.stringify(key)).toMatchObject({ count: 1 });
    }
  });

  it('never writes the admin token to its logs', async () => {
    await service.fetch('/v1/counters/k?window=1m', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await service.fetch('/v1/counters/k?window=1m', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
    });
    expect(service.logLines.length).toBeGreaterThan(0);
    expect(service.logLines.filter((line) => line.includes(ADMIN_TOKEN))).toEqual([]);
  });
});
