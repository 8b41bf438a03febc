import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminConnections } from '../../support/admin.js';
import { RedisServer } from '../../support/redis-server.js';
import { ServiceProcess, checkOnRedis, eventually, runCli } from '../../support/service-process.js';

const USER = 'svc-user';
const PASSWORD = 'pw-Hunter2-never-logged';
const ROTATED = 'pw-Rotated-never-logged-either';

/**
 * The Redis password reaches no log line, error message or response, whatever the error path: an
 * ACL user turned off, a rotated password, and URLs that put the password where a host or a port
 * would be (service and CLI).
 */
describe('the Redis password never reaches a log line or an error', () => {
  let redis: RedisServer;
  const admin = new AdminConnections();
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    await admin.command(redis.port, 'ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop('SIGKILL')));
    admin.close();
    await redis.stop();
  });

  const url = () => `redis://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`;

  async function start(): Promise<ServiceProcess> {
    const service = await ServiceProcess.start(['--redis', url(), '--heartbeat-ms', '100']);
    services.push(service);
    await eventually(async () => (await service.fetch('/readyz')).status === 200, 'service ready');
    return service;
  }

  function expectNoSecret(text: string): void {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(ROTATED);
  }

  /** Cut the service's connections: its reconnects then AUTH with what REDIS_URL says. */
  async function waitForFailedHeartbeats(service: ServiceProcess): Promise<string> {
    await admin.command(redis.port, 'CLIENT', 'KILL', 'USER', USER);
    const refused = (line: string) => line.includes('heartbeat failed') && line.includes('WRONGPASS');
    await eventually(
      () => Promise.resolve(service.logLines.filter(refused).length >= 2),
      'two heartbeats refused with WRONGPASS',
    );
    const readyz = await service.fetch('/readyz');
    const body = await readyz.text();
    expect(readyz.status).toBe(503);
    expect(body).toMatch(/WRONGPASS/);
    return [...service.logLines, body].join('\n');
  }

  it('logs a disabled ACL user without its password or the AUTH arguments', async () => {
    const service = await start();
    await admin.command(redis.port, 'ACL', 'SETUSER', USER, 'off');
    try {
      const output = await waitForFailedHeartbeats(service);
      expectNoSecret(output);
      expect(output).toMatch(/"command":"auth"/);
      expect(output).not.toMatch(/"args"/);
    } finally {
      await admin.command(redis.port, 'ACL', 'SETUSER', USER, 'on');
    }
  });

  it('logs a rotated password failure without either password', async () => {
    const service = await start();
    await admin.command(redis.port, 'ACL', 'SETUSER', USER, 'resetpass', `>${ROTATED}`);
    try {
      expectNoSecret(await waitForFailedHeartbeats(service));
      const cli = await runCli(checkOnRedis(url()));
      expect(cli.code).toBe(2);
      expect(cli.stderr).toMatch(/WRONGPASS/);
      expectNoSecret(cli.stdout + cli.stderr);
    } finally {
      await admin.command(redis.port, 'ACL', 'SETUSER', USER, 'resetpass', `>${PASSWORD}`);
    }
  });

  it.concurrent.each([
    ['a password where the port would be', `redis://default:${PASSWORD}`],
    ['a password where the host would be', `redis://:${PASSWORD}`],
    ['a numeric password where the port would be', 'redis://default:987654321'],
  ])('refuses %s without echoing it, in serve and in the CLI', async (_, badUrl) => {
    const secret = badUrl.slice(badUrl.lastIndexOf(':') + 1);
    const serve = await runCli(['serve', '--port', '0'], { REDIS_URL: badUrl });
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/^error: invalid setting REDIS_URL: invalid Redis URL: .*"@"/);
    const check = await runCli(checkOnRedis(badUrl));
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/^error: invalid Redis URL/);
    for (const output of [serve.stdout, serve.stderr, check.stdout, check.stderr]) {
      expect(output).not.toContain(secret);
    }
  });

  it.concurrent('keeps the password out of the CLI error for an unreachable service URL', async () => {
    const cli = await runCli([
      'nodes',
      '--url',
      `http://admin:${PASSWORD}@127.0.0.1:1`,
      '--timeout-ms',
      '500',
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/cannot reach/);
    expectNoSecret(cli.stderr);
  });
});
