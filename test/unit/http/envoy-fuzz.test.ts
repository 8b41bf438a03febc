import { Client, credentials, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RlsClient } from '../../../support/rls-client.js';
import type { RlsRequest } from '../../../support/rls-client.js';
import { InProcessService } from '../../support/in-process-service.js';

/**
 * Fuzzing Envoy's API of the service composed as `ratelimiter serve` composes it: random requests
 * to the gRPC method (typed, and raw bytes, over loopback to the service's gRPC server) and to
 * `/v1/ratelimit` and `/v1/forward-auth`, bounded in runs and time. No input may crash the
 * service, get a 5xx, or an INTERNAL / UNKNOWN gRPC status.
 */
const RUNS = 300;
const TIME_LIMIT_MS = 6000;
const RULES = `
domain: fuzz
descriptors:
  - key: a
    rate_limit: { unit: second, requests_per_unit: 5 }
  - key: w
    value: "x*y*"
    share_threshold: true
    rate_limits:
      - { unit: second, requests_per_unit: 3, algorithm: sliding-window-log }
      - { unit: minute, requests_per_unit: 100, algorithm: token-bucket }
  - key: n
    descriptors:
      - key: m
        rate_limit: { unit: hour, requests_per_unit: 0 }
`;

let dir: string;
let service: InProcessService;
let client: RlsClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ratelimiter-envoy-fuzz-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  service = await InProcessService.start(['--rules', join(dir, 'rules.yaml')]);
  client = new RlsClient(`127.0.0.1:${service.grpcPort}`);
});

afterAll(async () => {
  client.close();
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
});

const rssMb = () => process.memoryUsage().rss / (1024 * 1024);

const text = fc.oneof(
  fc.constantFrom('', 'a', 'w', 'n', 'm', 'x', 'xay', 'xyz', 'fuzz', '*'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const unit = fc.constantFrom('UNKNOWN', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'YEAR');
const descriptor = fc.record(
  {
    entries: fc.array(fc.record({ key: text, value: text }), { maxLength: 40 }),
    limit: fc.record({ requests_per_unit: fc.oneof(fc.nat(), fc.constant(4_294_967_295)), unit }),
    hits_addend: fc.record({ value: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)) }),
  },
  { requiredKeys: ['entries'] },
);
/** Mostly well-formed requests on the rules' keys, so decisions are made, not only refusals. */
const plausible: fc.Arbitrary<RlsRequest> = fc.record({
  domain: fc.constant('fuzz'),
  descriptors: fc.array(
    fc.record(
      {
        entries: fc.array(
          fc.record({
            key: fc.constantFrom('a', 'w', 'n', 'm'),
            value: fc.oneof(fc.constantFrom('xay', 'xy', 'b'), text),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        hits_addend: fc.record({ value: fc.nat({ max: 10 }) }),
      },
      { requiredKeys: ['entries'] },
    ),
    { minLength: 1, maxLength: 5 },
  ),
});
const rlsRequest: fc.Arbitrary<RlsRequest> = fc.oneof(
  plausible,
  fc.record(
    {
      domain: fc.oneof(fc.constant('fuzz'), text),
      descriptors: fc.array(descriptor, { maxLength: 110 }),
      hits_addend: fc.oneof(fc.nat(), fc.constant(4_294_967_295)),
    },
    { requiredKeys: ['domain', 'descriptors'] },
  ),
);

/** A call with raw bytes as the message: what no typed client would send. */
function rawCall(raw: Client, bytes: Uint8Array): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit',
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.from(bytes),
      (error) => {
        resolve(error);
      },
    );
  });
}

describe('fuzzing the Envoy API of the service', () => {
  it('gRPC: every request is answered, or refused with INVALID_ARGUMENT; never INTERNAL, never a crash', async () => {
    const rssBefore = rssMb();
    const raw = new Client(`127.0.0.1:${service.grpcPort}`, credentials.createInsecure());
    let answered = 0;
    let runs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(rlsRequest, fc.uint8Array({ maxLength: 300 }), async (request, bytes) => {
          runs++;
          const failure = await client.failure(request);
          if (failure)
            expect(failure.code, `${failure.details} for ${JSON.stringify(request).slice(0, 300)}`).toBe(
              status.INVALID_ARGUMENT,
            );
          else answered++;
          const rawFailure = await rawCall(raw, bytes);
          // Bytes that are not a RateLimitRequest are refused by gRPC's decoding; anything that decodes is ours.
          if (rawFailure) expect([status.INVALID_ARGUMENT, status.INTERNAL]).toContain(rawFailure.code);
          if (rawFailure?.code === status.INTERNAL) expect(rawFailure.details).toMatch(/deserializ|parse/i);
        }),
        { numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
      );
    } finally {
      raw.close();
    }
    // However loaded the machine (the runs are bounded by time), a good share was decided.
    expect(runs).toBeGreaterThan(20);
    expect(answered).toBeGreaterThan(runs / 5);
    expect(await client.healthCheck()).toBe('SERVING');
    expect(rssMb() - rssBefore).toBeLessThan(64);
  }, 60_000);

  it('HTTP: /v1/ratelimit and /v1/forward-auth never answer 5xx; every error has our shape', async () => {
    const jsonish = fc.oneof(
      rlsRequest.map((request) => JSON.stringify(request)),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string(),
    );
    const request = fc.oneof(
      fc.record({
        path: fc.constant('/v1/ratelimit'),
        method: fc.constant('POST'),
        body: jsonish,
        contentType: fc.constantFrom('application/json', 'text/plain', ''),
        headers: fc.constant({}),
      }),
      fc.record({
        path: fc
          .tuple(text, fc.option(text))
          .map(
            ([domain, spec]) =>
              `/v1/forward-auth?${new URLSearchParams(spec === null ? { domain } : { domain, descriptor: spec }).toString()}`,
          ),
        method: fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE'),
        body: fc.string(),
        contentType: fc.constantFrom('application/json', 'text/plain', ''),
        headers: fc.record(
          {
            'x-forwarded-for': fc.string({ maxLength: 60 }),
            'x-real-ip': fc.string({ maxLength: 60 }),
            'x-api-key': fc.string(),
          },
          { requiredKeys: [] },
        ),
      }),
    );
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ path, method, body, contentType, headers }) => {
        const allHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(headers)) {
          // fetch refuses header values with control characters; the server never sees those.
          if (typeof value === 'string' && /^[\t\x20-\x7e]*$/.test(value)) allHeaders[name] = value;
        }
        if (contentType) allHeaders['content-type'] = contentType;
        const hasBody = method !== 'GET' && method !== 'HEAD' && body !== '';
        const response = await service.fetch(path, {
          method,
          headers: allHeaders,
          ...(hasBody ? { body } : {}),
        });
        const responseText = await response.text();
        sent++;
        expect(
          response.status,
          `${method} ${path} ${body.slice(0, 200)} -> ${responseText.slice(0, 300)}`,
        ).toBeLessThan(500);
        if (response.status >= 400 && method !== 'HEAD' && response.status !== 429) {
          const error = (JSON.parse(responseText) as { error?: { code?: unknown; message?: unknown } }).error;
          expect(typeof error?.code).toBe('string');
          expect(typeof error?.message).toBe('string');
        }
      }),
      { numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
    );
    expect(sent).toBeGreaterThan(50);
    expect((await service.fetch('/healthz')).status).toBe(200);
  }, 60_000);
});
