import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminConnections } from '../../support/admin.js';
import { RedisServer, freePort } from '../../support/redis-server.js';
import { ServiceProcess, checkOnRedis, eventually, runCli } from '../../support/service-process.js';

/** A key that is personal data: it must reach no error body and no log line. */
const PERSONAL_KEY = 'alice@example.com';

interface ErrorReply {
  error: { code: string; message: string; reason?: string };
}

/**
 * Redis states in which PING answers but no decision can be recorded, and peers that are not a
 * usable Redis at all: readiness says why (body and log line), closed-mode errors name the cause,
 * and neither quotes the key.
 */
describe('readiness and errors on a Redis that cannot record a decision', () => {
  const cleanups: (() => unknown)[] = [];
  const admin = new AdminConnections();

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    admin.close();
  });

  async function redis(args: string[] = []): Promise<RedisServer> {
    const server = await RedisServer.start(args);
    cleanups.push(() => server.stop());
    return server;
  }

  async function service(redisUrl: string, extra: string[] = []): Promise<ServiceProcess> {
    const started = await ServiceProcess.start([
      '--redis',
      redisUrl,
      '--failure-mode',
      'closed',
      '--heartbeat-ms',
      '200',
      '--store-timeout-ms',
      '500',
      ...extra,
    ]);
    cleanups.push(() => started.stop('SIGKILL'));
    return started;
  }

  /** Until /readyz is 503 with this reason; then its body. */
  async function notReady(node: ServiceProcess, reason: string): Promise<ErrorReply> {
    let last: ErrorReply | undefined;
    await eventually(
      async () => {
        const response = await node.fetch('/readyz');
        last = (await response.json()) as ErrorReply;
        return response.status === 503 && last.error.reason === reason;
      },
      `readyz 503 with reason ${reason} (last: ${JSON.stringify(last)})`,
    );
    return last as ErrorReply;
  }

  /** A closed-mode check: 503 store_unavailable naming the cause, never the key. */
  async function refusedCheck(node: ServiceProcess, reason: string): Promise<void> {
    const response = await node.postJson('/v1/check', {
      key: PERSONAL_KEY,
      limit: 3,
      window: 10,
      algorithm: 'fixed-window',
    });
    const text = await response.text();
    expect(response.status).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'store_unavailable', reason } });
    expect(text).not.toContain('alice');
  }

  /** Log lines arrive asynchronously (and after the reply): wait for the one expected. */
  async function expectLoggedWithoutKey(node: ServiceProcess, reason: string): Promise<void> {
    const notReady = new RegExp(`"reason":"${reason}".*"msg":"not ready: `);
    await eventually(
      () => Promise.resolve(node.logLines.some((line) => notReady.test(line))),
      'the log line',
    );
    expect(node.logLines.join('\n')).not.toContain('alice');
  }

  it.concurrent('OOM: Redis past maxmemory under noeviction', async () => {
    const server = await redis(['--maxmemory-policy', 'noeviction']);
    const node = await service(server.url);
    expect((await node.fetch('/readyz')).status).toBe(200);
    await admin.command(server.port, 'CONFIG', 'SET', 'maxmemory', '1');
    const body = await notReady(node, 'oom');
    expect(body.error.message).toMatch(/^not ready: .*OOM: /);
    await refusedCheck(node, 'oom');
    await expectLoggedWithoutKey(node, 'oom');
    await admin.command(server.port, 'CONFIG', 'SET', 'maxmemory', '0');
    await eventually(async () => (await node.fetch('/readyz')).status === 200, 'ready again');
    await eventually(
      () => Promise.resolve(node.logLines.some((line) => line.includes('ready again'))),
      'the "ready again" log line',
    );
  });

  it.concurrent('NOPERM: an ACL user without EVAL and EVALSHA', async () => {
    const server = await redis();
    await admin.command(
      server.port,
      ...['ACL', 'SETUSER', 'limiter', 'on', '>limiter-pw', '~*', '+@all', '-eval', '-evalsha'],
    );
    const node = await service(`redis://limiter:limiter-pw@127.0.0.1:${server.port}`);
    const body = await notReady(node, 'noperm');
    expect(body.error.message).toMatch(/counter script: .*NOPERM: /);
    await refusedCheck(node, 'noperm');
    await expectLoggedWithoutKey(node, 'noperm');
    // The registry still answered: PING and the registry alone would have said "ready".
    expect(await node.nodeIds()).toHaveLength(1);
  });

  it.concurrent('READONLY: the URL names a replica', async () => {
    const master = await redis();
    const replica = await redis(['--replicaof', '127.0.0.1', String(master.port)]);
    const node = await service(replica.url);
    const body = await notReady(node, 'readonly');
    expect(body.error.message).toMatch(/READONLY: .*replica/);
    await refusedCheck(node, 'readonly');
    await expectLoggedWithoutKey(node, 'readonly');
  });

  it.concurrent('EVALSHA renamed away (rename-command)', async () => {
    const server = await redis(['--rename-command', 'EVALSHA', '']);
    const node = await service(server.url);
    const body = await notReady(node, 'unknown_command');
    expect(body.error.message).toMatch(/EVALSHA/);
    // Redis lists the arguments of an unknown command, the counter key among them.
    await refusedCheck(node, 'unknown_command');
    await expectLoggedWithoutKey(node, 'unknown_command');
  });

  it.concurrent('a database that does not exist: refused at start, unready after a reconnect', async () => {
    const server = await redis();
    const refused = await runCli(['serve', '--port', '0', '--redis', `${server.url}/100`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: invalid setting REDIS_URL \/ --redis: .*SELECT 100 failed/);

    const node = await service(`${server.url}/5`);
    expect((await node.fetch('/readyz')).status).toBe(200);
    // The same port, restarted with 2 databases: the reconnect's SELECT 5 fails.
    await server.restart(['--databases', '2']);
    const body = await notReady(node, 'select_failed');
    expect(body.error.message).toMatch(/SELECT 5 failed/);
    await refusedCheck(node, 'select_failed');
    await server.restart(['--databases', '16']);
    await eventually(async () => (await node.fetch('/readyz')).status === 200, 'ready again');
  });

  it.concurrent('maxclients: the real cause, not "Stream isn\'t writeable"', async () => {
    const server = await redis(['--maxclients', '1']);
    const held = await holdConnection(server.port);
    cleanups.push(() => held.destroy());
    const node = await service(server.url);
    const body = await notReady(node, 'maxclients');
    expect(body.error.message).toMatch(/maxclients/);
    const cli = await runCli(checkOnRedis(server.url));
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/maxclients/);
    expect(cli.stderr).not.toMatch(/Stream isn't writeable/);
  });

  it.concurrent('a peer that is not Redis, and one that accepts and never answers', async () => {
    const http = await tcpServer((socket) => {
      socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    const silent = await tcpServer(() => undefined);
    const [httpNode, silentNode] = await Promise.all([
      service(`redis://127.0.0.1:${http.port}`),
      service(`redis://127.0.0.1:${silent.port}`),
    ]);
    const body = await notReady(httpNode, 'not_redis');
    expect(body.error.message).toMatch(/does not speak the Redis protocol/);
    expect(body.error.message).not.toMatch(/Stream isn't writeable/);
    await notReady(silentNode, 'timeout');
    const cli = await runCli(checkOnRedis(`redis://127.0.0.1:${http.port}`));
    expect(cli.stderr).toMatch(/does not speak the Redis protocol/);
  });

  /** A plain TCP server on a free port, closed with the test file. */
  async function tcpServer(
    onConnection: (socket: Socket) => void,
  ): Promise<{ port: number; server: Server }> {
    const port = await freePort();
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      onConnection(socket);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => {
            resolve();
          });
        }),
    );
    return { port, server };
  }
});

/** A connection that takes a client slot of the server and keeps it. */
async function holdConnection(port: number): Promise<Socket> {
  const { createConnection } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => {
      socket.write('PING\r\n');
    });
    socket.once('data', () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
