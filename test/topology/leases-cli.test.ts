import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { ServiceProcess, runCli } from '../../support/service-process.js';

const API_TOKEN = 'cli-lease-api-token-0123456789';

/** `ratelimiter acquire|release|renew` against a service (--url) and its Redis (--redis). */
describe('ratelimiter acquire, release, renew', () => {
  let redis: RedisServer;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start(['--redis', redis.url], { RATELIMITER_API_TOKEN: API_TOKEN });
  });

  afterAll(async () => {
    await service.stop('SIGKILL');
    await redis.stop();
  });

  const overHttp = () => ['--url', service.url, '--api-token', API_TOKEN];
  const onRedis = () => ['--redis', redis.url];
  let serial = 0;
  const freshKey = () => `cli-lease:${Date.now()}:${++serial}`;

  const acquired = (stdout: string) => JSON.parse(stdout) as { allowed: boolean; leaseId?: string };

  it('a lease taken over HTTP counts on Redis and is released there once (exit 0, then 1)', async () => {
    const key = freshKey();
    const first = await runCli(['acquire', key, '--limit', '1', '--ttl', '30s', '--json', ...overHttp()]);
    expect(first.code).toBe(0);
    const lease = acquired(first.stdout);
    expect(lease).toMatchObject({ allowed: true, limit: 1, inFlight: 1, remaining: 0, expiresInMs: 30_000 });
    const leaseId = lease.leaseId as string;

    const [full, wrongKey] = await Promise.all([
      runCli(['acquire', '--key', key, '--limit', '1', '--ttl', '30s', ...onRedis()]),
      runCli(['release', freshKey(), '--lease', leaseId, '--json', ...onRedis()]),
    ]);
    expect(full.code).toBe(1);
    expect(full.stdout).toMatch(/^denied limit=1 inFlight=1 remaining=0 retryAfterMs=\d+ expiresInMs=0\n$/);
    expect(wrongKey.code).toBe(1);
    expect(JSON.parse(wrongKey.stdout)).toEqual({ released: false, inFlight: 0, limit: 0 });

    const released = await runCli(['release', '--key', key, '--lease', leaseId, '--json', ...onRedis()]);
    expect(released.code).toBe(0);
    expect(JSON.parse(released.stdout)).toEqual({ released: true, inFlight: 0, limit: 1 });
    const again = await runCli(['release', key, '--lease', leaseId, ...overHttp()]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('not released inFlight=0\n');
  });

  it.each([
    ['over HTTP', overHttp],
    ['on Redis', onRedis],
  ])('renew extends a live lease (exit 0) and not a released one (exit 1), %s', async (_, target) => {
    const key = freshKey();
    // The ttl outlasts a CLI start on a loaded machine: the renewal must find the lease live.
    const acquire = ['acquire', key, '--limit', '2', '--ttl', '20s', '--cost', '2', '--json'];
    const first = await runCli([...acquire, ...target()]);
    const leaseId = acquired(first.stdout).leaseId as string;
    const renewed = await runCli(['renew', key, '--lease', leaseId, '--ttl', '1m', '--json', ...target()]);
    expect(renewed.code).toBe(0);
    expect(JSON.parse(renewed.stdout)).toEqual({ renewed: true, expiresInMs: 60_000, inFlight: 2, limit: 2 });
    await runCli(['release', key, '--lease', leaseId, ...target()]);
    const dead = await runCli(['renew', key, '--lease', leaseId, '--ttl', '1m', ...target()]);
    expect(dead.code).toBe(1);
    expect(dead.stdout).toBe('not renewed expiresInMs=0 inFlight=0\n');
  });

  it('exits 2 with one line naming what is wrong', async () => {
    const lease = 'AAAAAAAAAAAAAAAAAAAAAA';
    const runs = await Promise.all([
      runCli(['acquire', 'k', '--limit', '1', '--ttl', '50ms', ...overHttp()]),
      runCli(['acquire', 'k', '--limit', '1', '--ttl', '20s', '--cost', '2', ...onRedis()]),
      runCli(['acquire', '--limit', '1', '--ttl', '1s', ...onRedis()]),
      runCli(['acquire', 'a', '--key', 'b', '--limit', '1', '--ttl', '1s', ...onRedis()]),
      runCli(['release', 'k', '--lease', 'nope', ...overHttp()]),
      runCli(['renew', 'k', '--lease', lease, '--ttl', '2h', ...onRedis()]),
      runCli(['acquire', 'k', '--limit', '1', '--ttl', '1s', '--url', service.url]),
    ]);
    const expected = ['ttl', 'cost', 'key is required', 'given twice', 'leaseId', 'ttl', 'API token'];
    runs.forEach((run, index) => {
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(expected[index]);
    });
  });

  it('answers --help for each command', async () => {
    const helps = await Promise.all(['acquire', 'release', 'renew'].map((name) => runCli([name, '--help'])));
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: ratelimiter');
      expect(help.stdout).toContain('--key <key>');
    }
  });
});
