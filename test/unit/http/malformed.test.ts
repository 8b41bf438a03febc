import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessService } from '../../support/in-process-service.js';

interface Malformed {
  name: string;
  method?: string;
  path?: string;
  /** A JSON value to send, or raw text when `raw` is set. */
  body?: unknown;
  raw?: string;
  contentType?: string | null;
  status: number;
  field: string;
}

const valid = { key: 'k', limit: 10, window: '1m' };
const batchOf = (count: number) => ({ checks: Array.from({ length: count }, () => valid) });

/** Everything a client can get wrong: each answered 4xx with the JSON error naming the field. */
const MALFORMED: Malformed[] = [
  { name: 'limit as a string', body: { ...valid, limit: '10' }, status: 400, field: 'limit' },
  { name: 'limit negative', body: { ...valid, limit: -1 }, status: 400, field: 'limit' },
  { name: 'limit fractional', body: { ...valid, limit: 1.5 }, status: 400, field: 'limit' },
  { name: 'limit huge', body: { ...valid, limit: 1e300 }, status: 400, field: 'limit' },
  { name: 'limit null', body: { ...valid, limit: null }, status: 400, field: 'limit' },
  { name: 'limit missing', body: { key: 'k', window: '1m' }, status: 400, field: 'limit' },
  { name: 'key missing', body: { limit: 1, window: '1m' }, status: 400, field: 'key' },
  { name: 'key empty', body: { ...valid, key: '' }, status: 400, field: 'key' },
  { name: 'key a number', body: { ...valid, key: 42 }, status: 400, field: 'key' },
  { name: 'key of 600 characters', body: { ...valid, key: 'k'.repeat(600) }, status: 400, field: 'key' },
  { name: 'unicode key over 512 bytes', body: { ...valid, key: 'é'.repeat(300) }, status: 400, field: 'key' },
  { name: 'emoji key over 512 bytes', body: { ...valid, key: '🙂'.repeat(129) }, status: 400, field: 'key' },
  { name: 'lone surrogate key', raw: '{"key":"\\ud800","limit":1,"window":1}', status: 400, field: 'key' },
  { name: 'window missing', body: { key: 'k', limit: 1 }, status: 400, field: 'window' },
  { name: 'window unit unknown', body: { ...valid, window: '1y' }, status: 400, field: 'window' },
  { name: 'window without unit', body: { ...valid, window: '10' }, status: 400, field: 'window' },
  { name: 'window zero', body: { ...valid, window: 0 }, status: 400, field: 'window' },
  { name: 'window negative', body: { ...valid, window: -5 }, status: 400, field: 'window' },
  { name: 'window over 366 days', body: { ...valid, window: '367d' }, status: 400, field: 'window' },
  { name: 'window below a millisecond', body: { ...valid, window: 0.0001 }, status: 400, field: 'window' },
  { name: 'window a boolean', body: { ...valid, window: true }, status: 400, field: 'window' },
  { name: 'window an object', body: { ...valid, window: { s: 1 } }, status: 400, field: 'window' },
  { name: 'cost negative', body: { ...valid, cost: -1 }, status: 400, field: 'cost' },
  { name: 'cost above limit', body: { ...valid, cost: 11 }, status: 400, field: 'cost' },
  { name: 'cost as a string', body: { ...valid, cost: '1' }, status: 400, field: 'cost' },
  { name: 'algorithm unknown', body: { ...valid, algorithm: 'leaky' }, status: 400, field: 'algorithm' },
  { name: 'extra field', body: { ...valid, tenant: 'x' }, status: 400, field: 'tenant' },
  { name: 'body an array', body: [valid], status: 400, field: 'body' },
  { name: 'body a string', body: 'check', status: 400, field: 'body' },
  { name: 'bad JSON', raw: '{"key": "k", "limit": 1,', status: 400, field: 'body' },
  { name: 'empty JSON body', raw: '', status: 400, field: 'body' },
  { name: 'text/plain body', raw: 'key=k', contentType: 'text/plain', status: 415, field: 'content-type' },
  {
    name: 'form body',
    raw: 'key=k&limit=1',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    field: 'content-type',
  },
  { name: 'body over 64 KiB', body: { ...valid, key: 'k'.repeat(70 * 1024) }, status: 413, field: 'body' },
  { name: 'batch empty', path: '/v1/checks', body: { checks: [] }, status: 400, field: 'checks' },
  { name: 'batch over 100', path: '/v1/checks', body: batchOf(101), status: 400, field: 'checks' },
  {
    name: 'batch item wrong type',
    path: '/v1/checks',
    body: { checks: [valid, { ...valid, limit: 'x' }] },
    status: 400,
    field: 'checks[1].limit',
  },
  {
    name: 'batch item extra field',
    path: '/v1/checks',
    body: { checks: [{ ...valid, x: 1 }] },
    status: 400,
    field: 'checks[0].x',
  },
  {
    name: 'batch item bad window',
    path: '/v1/checks',
    body: { checks: [valid, valid, { ...valid, window: '5w' }] },
    status: 400,
    field: 'checks[2].window',
  },
  {
    name: 'batch checks not an array',
    path: '/v1/checks',
    body: { checks: valid },
    status: 400,
    field: 'checks',
  },
  {
    name: 'peek limit not a number',
    method: 'GET',
    path: '/v1/counters/k?limit=ten&window=60',
    status: 400,
    field: 'limit',
  },
  {
    name: 'peek window missing',
    method: 'GET',
    path: '/v1/counters/k?limit=1',
    status: 400,
    field: 'window',
  },
  {
    name: 'peek bad duration',
    method: 'GET',
    path: '/v1/counters/k?limit=1&window=soon',
    status: 400,
    field: 'window',
  },
  {
    name: 'peek unknown query field',
    method: 'GET',
    path: '/v1/counters/k?limit=1&window=60&x=1',
    status: 400,
    field: 'x',
  },
  {
    name: 'peek key over 512 bytes',
    method: 'GET',
    path: `/v1/counters/${encodeURIComponent('é'.repeat(300))}?limit=1&window=60`,
    status: 400,
    field: 'key',
  },
  {
    name: 'peek limit a blank (never coerced to 0)',
    method: 'GET',
    path: '/v1/counters/k?limit=%20&window=60',
    status: 400,
    field: 'limit',
  },
  {
    name: 'peek window in hex (never coerced to 16 s)',
    method: 'GET',
    path: '/v1/counters/k?limit=1&window=0x10',
    status: 400,
    field: 'window',
  },
  {
    name: 'malformed percent-escape in the path',
    method: 'GET',
    path: '/v1/counters/%ZZ?limit=1&window=60',
    status: 400,
    field: 'url',
  },
  {
    name: 'path key over the router limit',
    method: 'GET',
    path: `/v1/counters/${'k'.repeat(2100)}?limit=1&window=60`,
    status: 400,
    field: 'key',
  },
  { name: 'unknown route', method: 'GET', path: '/v2/check', status: 404, field: '' },
];

describe('malformed requests against the service app', () => {
  let service: InProcessService;

  beforeAll(async () => {
    service = await InProcessService.start();
  });

  afterAll(async () => {
    await service.stop();
  });

  it('has a table of at least 30 cases', () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(30);
  });

  it.each(MALFORMED)('$name → $status naming "$field"', async (testCase) => {
    const method = testCase.method ?? 'POST';
    const headers: Record<string, string> = {};
    const contentType = testCase.contentType === undefined ? 'application/json' : testCase.contentType;
    let body: string | undefined;
    if (method === 'POST') {
      body = testCase.raw ?? JSON.stringify(testCase.body);
      if (contentType !== null) headers['content-type'] = contentType;
    }
    const response = await service.fetch(testCase.path ?? '/v1/check', {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    expect(response.status).toBe(testCase.status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const reply = (await response.json()) as { error: { code: string; message: string; field?: string } };
    expect(reply.error.message).not.toBe('');
    expect(typeof reply.error.code).toBe('string');
    if (testCase.field !== '') expect(reply.error.field).toBe(testCase.field);
  });

  it('is still serving after all of them', async () => {
    expect((await service.fetch('/healthz')).status).toBe(200);
    const check = await service.postJson('/v1/check', valid);
    expect(check.status).toBe(200);
    expect(await check.json()).toMatchObject({ allowed: true });
  });
});
