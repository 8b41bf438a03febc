import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { RlsClient } from '../../support/rls-client.js';
import type { RlsRequest } from '../../support/rls-client.js';
import { ServiceProcess, eventually } from '../../support/service-process.js';

/**
 * Envoy's RateLimitService over gRPC, against the real service process on a real Redis, with a
 * client built from the repo's .proto files (as Envoy's is built from the published ones).
 */
const RULES = `
domain: envoy
descriptors:
  - key: remote_address
    rate_limit:
      unit: minute
      requests_per_unit: 3
  - key: burst
    rate_limit:
      unit: minute
      requests_per_unit: 50
      algorithm: sliding-window-log
  - key: generic_key
    value: slow
    rate_limit:
      unit: second
      requests_per_unit: 1000
`;

let redis: RedisServer;
let service: ServiceProcess;
let client: RlsClient;
let dir: string;
const run = Date.now().toString(36);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ratelimiter-grpc-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  redis = await RedisServer.start();
  service = await ServiceProcess.start([
    '--redis',
    redis.url,
    '--rules',
    join(dir, 'rules.yaml'),
    '--response-headers',
    'draft',
    // The machine is shared and small: a slow answer must not become an open-mode admit here.
    '--store-timeout-ms',
    '2000',
    '--store-queue-timeout-ms',
    '5000',
  ]);
  client = new RlsClient(`127.0.0.1:${service.grpcPort}`);
});

afterAll(async () => {
  client.close();
  await service.stop('SIGKILL');
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

const address = (value: string): RlsRequest => ({
  domain: 'envoy',
  descriptors: [{ entries: [{ key: 'remote_address', value }] }],
});

describe('gRPC ShouldRateLimit (real process, Redis)', () => {
  it('answers the reference decisions of a fixed window: 3 OK, then OVER_LIMIT, with the limit and the reset', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await client.shouldRateLimit(address(`10.1.0.1-${run}`)));
    expect(answers.map((answer) => answer.overall_code)).toEqual(['OK', 'OK', 'OK', 'OVER_LIMIT']);
    expect(answers.map((answer) => answer.statuses[0]?.limit_remaining)).toEqual([2, 1, 0, 0]);
    const [first] = answers;
    expect(first?.statuses[0]?.code).toBe('OK');
    expect(first?.statuses[0]?.current_limit).toEqual({ name: '', requests_per_unit: 3, unit: 'MINUTE' });
    const reset = first?.statuses[0]?.duration_until_reset;
    expect(reset?.seconds).toBeGreaterThanOrEqual(0);
    expect(reset?.seconds).toBeLessThanOrEqual(60);
    // RATELIMITER_RESPONSE_HEADERS=draft: the headers Envoy adds to the client's response.
    expect(first?.response_headers_to_add.map(({ key }) => key)).toEqual(['RateLimit-Policy', 'RateLimit']);
    expect(answers[3]?.response_headers_to_add.map(({ key }) => key)).toContain('Retry-After');
  });

  it('honours hits_addend on the request and per descriptor (0 = check only)', async () => {
    const value = `10.1.0.2-${run}`;
    const twice = await client.shouldRateLimit({ ...address(value), hits_addend: 2 });
    expect(twice.statuses[0]?.limit_remaining).toBe(1);
    const look = await client.shouldRateLimit({
      domain: 'envoy',
      descriptors: [{ entries: [{ key: 'remote_address', value }], hits_addend: { value: 0 } }],
      hits_addend: 3,
    });
    expect(look.statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 1 });
    const tooMany = await client.shouldRateLimit({
      domain: 'envoy',
      descriptors: [{ entries: [{ key: 'remote_address', value }], hits_addend: { value: 2 } }],
    });
    expect(tooMany.overall_code).toBe('OVER_LIMIT');
    // Denied, so nothing was spent: the last unit is still there.
    expect((await client.shouldRateLimit(address(value))).overall_code).toBe('OK');
  });

  it('applies a per-descriptor limit override, and answers OK with no limit for what matches nothing', async () => {
    const overridden = await client.shouldRateLimit({
      domain: 'envoy',
      descriptors: [
        {
          entries: [{ key: 'remote_address', value: `o-${run}` }],
          limit: { requests_per_unit: 1, unit: 'HOUR' },
        },
        { entries: [{ key: 'unknown', value: 'x' }] },
      ],
    });
    expect(overridden.statuses[0]?.current_limit).toMatchObject({ requests_per_unit: 1, unit: 'HOUR' });
    expect(overridden.statuses[1]).toMatchObject({ code: 'OK', current_limit: null, limit_remaining: 0 });
    const unknownDomain = await client.shouldRateLimit({ ...address('x'), domain: 'nope' });
    expect(unknownDomain.overall_code).toBe('OK');
  });

  it('400 concurrent calls on one descriptor admit exactly its limit', async () => {
    // Four clients, four connections, 100 calls each, all in flight at once.
    const clients = Array.from({ length: 4 }, () => new RlsClient(`127.0.0.1:${service.grpcPort}`));
    const request: RlsRequest = {
      domain: 'envoy',
      descriptors: [{ entries: [{ key: 'burst', value: run }] }],
    };
    const answers = await Promise.all(
      clients.flatMap((each) => Array.from({ length: 100 }, () => each.shouldRateLimit(request))),
    );
    for (const each of clients) each.close();
    expect(answers.filter((answer) => answer.overall_code === 'OK')).toHaveLength(50);
    expect(answers.filter((answer) => answer.overall_code === 'OVER_LIMIT')).toHaveLength(350);
  });

  it('refuses a bad request with INVALID_ARGUMENT and a message', async () => {
    const noDescriptors = await client.failure({ domain: 'envoy', descriptors: [] });
    expect(noDescriptors).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(noDescriptors?.details).toContain('descriptor list must not be empty');
    expect(await client.failure({ ...address('x'), domain: '' })).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'domain must not be empty',
    });
    expect(
      await client.failure({ domain: 'envoy', descriptors: [{ entries: [{ key: '', value: 'x' }] }] }),
    ).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'descriptors[0].entries[0].key must not be empty',
    });
    const badUnit = await client.failure({
      domain: 'envoy',
      descriptors: [
        { entries: [{ key: 'a', value: 'b' }], limit: { requests_per_unit: 1, unit: 'UNKNOWN' } },
      ],
    });
    expect(badUnit).toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('serves grpc.health.v1: SERVING for the server and the RateLimitService, NOT_FOUND otherwise', async () => {
    expect(await client.healthCheck()).toBe('SERVING');
    expect(await client.healthCheck('envoy.service.ratelimit.v3.RateLimitService')).toBe('SERVING');
    const unknown = await client.healthCheck('nope').catch((error: unknown) => error as { code: number });
    expect(unknown).toMatchObject({ code: status.NOT_FOUND });
  });
});

describe('gRPC when Redis is down, and graceful stop', () => {
  it('fail-closed: UNAVAILABLE while Redis hangs, NOT_SERVING health; SERVING again after', async () => {
    const closed = await ServiceProcess.start([
      '--redis',
      redis.url,
      '--rules',
      join(dir, 'rules.yaml'),
      '--failure-mode',
      'closed',
    ]);
    const closedClient = new RlsClient(`127.0.0.1:${closed.grpcPort}`);
    try {
      expect((await closedClient.shouldRateLimit(address(`c-${run}`))).overall_code).toBe('OK');
      redis.pause();
      const failure = await closedClient.failure(address(`c-${run}`));
      expect(failure).toMatchObject({ code: status.UNAVAILABLE });
      expect(failure?.details).toContain('store_unavailable');
      expect(await closedClient.healthCheck()).toBe('NOT_SERVING');
    } finally {
      redis.resume();
    }
    try {
      const deadline = Date.now() + 5000;
      while ((await closedClient.healthCheck()) !== 'SERVING' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await closedClient.healthCheck()).toBe('SERVING');
    } finally {
      closedClient.close();
      await closed.stop('SIGKILL');
    }
  });

  it('health Watch streams SERVING, then NOT_SERVING and its end when the service stops', async () => {
    const watched = await ServiceProcess.start(['--redis', redis.url, '--rules', join(dir, 'rules.yaml')]);
    const watchClient = new RlsClient(`127.0.0.1:${watched.grpcPort}`);
    try {
      const watch = watchClient.watchHealth();
      await eventually(() => Promise.resolve(watch.statuses.length === 1), 'the first status');
      expect(watch.statuses).toEqual(['SERVING']);
      expect(await watched.stop('SIGTERM')).toBe(0);
      await watch.ended;
      expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      watchClient.close();
      await watched.stop('SIGKILL');
    }
  });

  it('SIGTERM drains the calls in flight: every one is answered, then the process exits 0', async () => {
    const draining = await ServiceProcess.start([
      '--redis',
      redis.url,
      '--rules',
      join(dir, 'rules.yaml'),
      '--store-timeout-ms',
      '5000',
    ]);
    const drainingClient = new RlsClient(`127.0.0.1:${draining.grpcPort}`);
    await drainingClient.shouldRateLimit(address('warm-up'));
    redis.pause();
    try {
      const request: RlsRequest = {
        domain: 'envoy',
        descriptors: [{ entries: [{ key: 'generic_key', value: 'slow' }] }],
      };
      const calls = Array.from({ length: 20 }, () => drainingClient.shouldRateLimit(request));
      // The calls are now waiting on the hung Redis inside the server.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exited = draining.stop('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      redis.resume();
      const answers = await Promise.all(calls);
      expect(answers.map((answer) => answer.overall_code)).toEqual(Array.from({ length: 20 }, () => 'OK'));
      expect(await exited).toBe(0);
    } finally {
      redis.resume();
      drainingClient.close();
      await draining.stop('SIGKILL');
    }
  });
});
