import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/redis-server.js';
import {
  CLI_PATH,
  ServiceProcess,
  checkOnRedis,
  cleanEnv,
  eventually,
  runCli,
} from '../../support/service-process.js';

/** The process at its edges: an unwritable stdout, listen failures, the CLI's exit, its advertised address. */
describe('the service process at its edges', () => {
  const services: ServiceProcess[] = [];

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop('SIGKILL')));
  });

  it('serves and stops on SIGTERM with stdout on /dev/full, counting the log lines it drops', async () => {
    const port = await freePort();
    const full = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', String(port)], {
      env: cleanEnv(),
      stdio: ['ignore', full, 'pipe'],
    });
    closeSync(full);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually(async () => (await fetch(`${base}/healthz`)).status === 200, '/healthz on /dev/full');
      // Every line fails with ENOSPC: the "listening" and "ready" lines at least. /healthz answers
      // once HTTP listens, before "ready" is written (and dropped): wait for the count, bounded.
      const dropped = async () => {
        const metrics = await (await fetch(`${base}/metrics`)).text();
        return Number(/^ratelimiter_log_lines_dropped_total (\d+)$/m.exec(metrics)?.[1]);
      };
      await eventually(async () => (await dropped()) >= 2, 'two log lines dropped');
      expect(await dropped()).toBeGreaterThanOrEqual(2);
      expect(
        (
          await fetch(`${base}/v1/check`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"key":"k","limit":1,"window":1}',
          })
        ).status,
      ).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.concurrent('names RATELIMITER_PORT / --port when the port is taken', async () => {
    const first = await ServiceProcess.start();
    services.push(first);
    const port = new URL(first.url).port;
    const second = await runCli(['serve', '--port', port]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(
      /^error: invalid setting RATELIMITER_PORT \/ --port: 127\.0\.0\.1:\d+ is already in use/,
    );
  });

  it.concurrent('names RATELIMITER_HOST / --host when the host is no address of this machine', async () => {
    const refused = await runCli(['serve', '--port', '0', '--host', '999.1.1.1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^error: invalid setting RATELIMITER_HOST \/ --host: "999\.1\.1\.1" is not an address/,
    );
  });

  it('exits as soon as a client command has its answer', async () => {
    const closedPort = await freePort();
    const startedAt = performance.now();
    let answeredAt = 0;
    const child = spawn(
      process.execPath,
      [CLI_PATH, ...checkOnRedis(`redis://127.0.0.1:${closedPort}`, '--timeout-ms', '300')],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      answeredAt ||= performance.now();
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const exitedAt = performance.now();
    expect(code).toBe(2);
    expect(stderr).toMatch(/ECONNREFUSED/);
    expect(answeredAt).toBeGreaterThan(startedAt);
    // ioredis' 2 s disconnect timer used to hold the process after the answer.
    expect(exitedAt - answeredAt).toBeLessThan(1000);
  });

  it.concurrent('registers an address peers can reach when bound to all interfaces', async () => {
    const external = Object.values(networkInterfaces())
      .flatMap((addresses) => addresses ?? [])
      .find((address) => !address.internal && address.family === 'IPv4');
    const service = await ServiceProcess.start(['--host', '0.0.0.0', '--node-id', 'wildcard']);
    services.push(service);
    const [node] = (
      (await (await service.fetch('/v1/nodes')).json()) as { nodes: { host: string; httpPort: number }[] }
    ).nodes;
    expect(node?.host).not.toBe('0.0.0.0');
    expect(node?.host).toBe(external?.address ?? '127.0.0.1');
    // The registered address answers.
    const reachable = await fetch(`http://${node?.host ?? ''}:${node?.httpPort ?? 0}/healthz`);
    expect(reachable.status).toBe(200);

    const advertised = await ServiceProcess.start([
      '--advertise-address',
      'node-a.internal',
      '--node-id',
      'advertised',
    ]);
    services.push(advertised);
    const listed = (await (await advertised.fetch('/v1/nodes')).json()) as { nodes: { host: string }[] };
    expect(listed.nodes.map((entry) => entry.host)).toEqual(['node-a.internal']);
  });
});
