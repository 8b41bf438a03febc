import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess } from '../../support/service-process.js';
import { portOf, rawRequest } from '../support/raw-http.js';

const JSON_HEADERS = 'Host: x\r\nContent-Type: application/json\r\n';

interface RefusalCase {
  name: string;
  request: string | Buffer;
  status: number;
  code: string;
  field: string;
  halfClose?: boolean;
}

function post(body: Buffer | string, headers = ''): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = `POST /v1/check HTTP/1.1\r\n${JSON_HEADERS}${headers}Content-Length: ${bytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

/** What Node's HTTP parser refuses before Fastify sees a request, and what we answer. */
const REFUSALS: RefusalCase[] = [
  {
    name: 'a bad chunk size',
    request: `POST /v1/check HTTP/1.1\r\n${JSON_HEADERS}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    status: 400,
    code: 'invalid_argument',
    field: 'transfer-encoding',
  },
  {
    name: 'Content-Length and Transfer-Encoding together',
    request: `POST /v1/check HTTP/1.1\r\n${JSON_HEADERS}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    status: 400,
    code: 'invalid_argument',
    field: 'transfer-encoding',
  },
  {
    name: 'a Content-Length that is not a number',
    request: `POST /v1/check HTTP/1.1\r\n${JSON_HEADERS}Content-Length: abc\r\n\r\n{}`,
    status: 400,
    code: 'invalid_argument',
    field: 'content-length',
  },
  {
    name: 'a duplicate Content-Length',
    request: `POST /v1/check HTTP/1.1\r\n${JSON_HEADERS}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    status: 400,
    code: 'invalid_argument',
    field: 'content-length',
  },
  {
    name: 'a body shorter than its Content-Length, then end of stream',
    request: `POST /v1/check HTTP/1.1\r\n${JSON_HEADERS}Content-Length: 1000\r\n\r\n{"key":"k"`,
    status: 400,
    code: 'invalid_argument',
    field: 'body',
    halfClose: true,
  },
  {
    name: 'headers over 16 KiB',
    request: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    status: 431,
    code: 'headers_too_large',
    field: 'headers',
  },
  {
    name: 'a URL over 16 KiB',
    request: `GET /healthz?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    status: 431,
    code: 'headers_too_large',
    field: 'headers',
  },
  {
    name: 'no Host on HTTP/1.1',
    request: 'GET /healthz HTTP/1.1\r\n\r\n',
    status: 400,
    code: 'invalid_argument',
    field: 'host',
  },
  {
    name: 'a NUL in a header value',
    request: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n',
    status: 400,
    code: 'invalid_argument',
    field: 'headers',
  },
  {
    name: 'a request line that is not HTTP',
    request: 'GARBAGE\r\n\r\n',
    status: 400,
    code: 'invalid_argument',
    field: 'request line',
  },
  {
    name: 'an unknown HTTP version',
    request: 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
    status: 400,
    code: 'invalid_argument',
    field: 'request line',
  },
  {
    name: 'an Expect other than 100-continue',
    request: post('{}', 'Expect: 200-ok\r\n'),
    status: 417,
    code: 'expectation_failed',
    field: 'expect',
  },
  {
    name: 'raw bytes that are not UTF-8 in a key (k\\xE9)',
    request: post(
      Buffer.concat([Buffer.from('{"key":"k'), Buffer.from([0xe9]), Buffer.from('","limit":1,"window":60}')]),
    ),
    status: 400,
    code: 'invalid_argument',
    field: 'body',
  },
  {
    name: 'a __proto__ key',
    request: post('{"key":"k","limit":1,"window":60,"__proto__":{"x":1}}'),
    status: 400,
    code: 'invalid_argument',
    field: '__proto__',
  },
  {
    name: 'a constructor key',
    request: post('{"key":"k","limit":1,"window":60,"constructor":{"prototype":{}}}'),
    status: 400,
    code: 'invalid_argument',
    field: 'constructor',
  },
];

describe('requests refused below the routes, against a running service', () => {
  let service: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    service = await ServiceProcess.start();
    port = portOf(service.url);
  });

  afterAll(async () => {
    await service.stop('SIGKILL');
  });

  it.each(REFUSALS)('$name → $status in our error shape', async (testCase) => {
    const reply = await rawRequest(port, testCase.request, { halfClose: testCase.halfClose ?? false });
    expect(reply.status).toBe(testCase.status);
    expect(reply.headers).toMatch(/content-type: application\/json/i);
    const body = JSON.parse(reply.body) as { error: { code: string; message: string; field?: string } };
    expect(body.error).toMatchObject({ code: testCase.code, field: testCase.field });
    expect(body.error.message).not.toBe('');
  });

  it('gives two keys that differ only in invalid bytes no counter at all (not a shared one)', async () => {
    const key = (byte: number) =>
      post(
        Buffer.concat([
          Buffer.from('{"key":"utf8-'),
          Buffer.from([byte]),
          Buffer.from('","limit":1,"window":60}'),
        ]),
      );
    expect((await rawRequest(port, key(0xe9))).status).toBe(400);
    expect((await rawRequest(port, key(0xe8))).status).toBe(400);
    const peek = await service.fetch(`/v1/counters/${encodeURIComponent('utf8-\uFFFD')}?limit=1&window=60`);
    expect(await peek.json()).toMatchObject({ count: 0 });
  });

  it('caps every echo: a 12 KB malformed URL is not sent back', async () => {
    const reply = await rawRequest(
      port,
      `GET /v1/counters/%ZZ${'a'.repeat(12_000)}?limit=1&window=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(reply.status).toBe(400);
    expect(reply.body.length).toBeLessThan(500);
    expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'invalid_argument', field: 'url' } });
    const unknownRoute = await service.fetch(`/v2/${'b'.repeat(5000)}`);
    expect((await unknownRoute.text()).length).toBeLessThan(500);
    const longField = await service.postJson('/v1/check', {
      key: 'k',
      limit: 1,
      window: 60,
      ['f'.repeat(5000)]: 1,
    });
    expect((await longField.text()).length).toBeLessThan(700);
  });

  it('answers HTTP/1.0 without Host, and is still serving after all of the above', async () => {
    const reply = await rawRequest(port, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(reply.status).toBe(200);
    expect((await service.postJson('/v1/check', { key: 'after', limit: 1, window: 60 })).status).toBe(200);
  });
});

/**
 * Node keeps the first 2,000 headers of a request and drops the rest without a word: a decision on
 * such a request would be on a set the client chose (issue 18.13). Refused with 431 instead.
 */
describe('a request past the header count limit, against a running service', () => {
  let service: ServiceProcess;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ratelimiter-header-count-'));
    const rules = join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      'domain: edge\ndescriptors:\n  - key: remote_address\n    rate_limit: { unit: minute, requests_per_unit: 1 }\n',
    );
    service = await ServiceProcess.start(['--rules', rules]);
    port = portOf(service.url);
  });

  afterAll(async () => {
    await service.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A forward-auth check from a client that writes its own X-Real-IP, `filler` tiny headers, then the proxy's X-Forwarded-For. */
  const forwardAuth = (realIp: string, filler: number) =>
    rawRequest(
      port,
      `GET /v1/forward-auth?domain=edge HTTP/1.1\r\nHost: x\r\nX-Real-IP: ${realIp}\r\n` +
        Array.from({ length: filler }, (_, i) => `a${i}:1\r\n`).join('') +
        'X-Forwarded-For: 203.0.113.77\r\nConnection: close\r\n\r\n',
    );

  it('answers 431 in our error shape to 2,100 tiny headers, whatever they say, and counts it', async () => {
    const statuses = [];
    for (const realIp of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      const reply = await forwardAuth(realIp, 2100);
      statuses.push(reply.status);
      if (reply.status === 431) {
        expect(reply.closed).toBe(true);
        expect(JSON.parse(reply.body)).toMatchObject({
          error: { code: 'headers_too_large', field: 'headers' },
        });
      }
    }
    // Before: 200, 200, 200 (the X-Forwarded-For dropped, each client-written X-Real-IP a new key).
    expect(statuses).toEqual([431, 431, 431]);
    const metrics = await (await service.fetch('/metrics')).text();
    expect(metrics).toMatch(/^ratelimiter_http_refusals_total\{kind="headers_too_large"\} 3$/m);
  });

  it('decides on the whole set below the limit: the proxy-written address is the key', async () => {
    expect((await forwardAuth('198.51.100.4', 100)).status).toBe(200);
    expect((await forwardAuth('198.51.100.5', 100)).status).toBe(429);
  });
});
