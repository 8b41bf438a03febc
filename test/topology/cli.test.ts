import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { ServiceProcess, runCli } from '../../support/service-process.js';

const ADMIN_TOKEN = 'cli-admin-token-0123456789';

describe('ratelimiter CLI', () => {
  let redis: RedisServer;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start(['--redis', redis.url, '--admin-token', ADMIN_TOKEN]);
  });

  afterAll(async () => {
    await service.stop('SIGKILL');
    await redis.stop();
  });

  // The same commands against the service over HTTP and against its Redis directly.
  const targets = [
    { name: 'a running service (--url)', args: () => ['--url', service.url, '--admin-token', ADMIN_TOKEN] },
    { name: 'Redis directly (--redis)', args: () => ['--redis', redis.url] },
  ];

  describe.each(targets)('against $name', ({ name, args }) => {
    const key = `cli:${name.length}:${Date.now()}`;

    it('check exits 0 when allowed, 1 when denied, and prints JSON with --json', async () => {
      const allowed = await runCli(['check', key, '--limit', '1', '--window', '1m', '--json', ...args()]);
      expect(allowed.code).toBe(0);
      expect(JSON.parse(allowed.stdout)).toEqual({
        allowed: true,
        limit: 1,
        remaining: 0,
        count: 1,
        retryAfterMs: 0,
        resetAfterMs: 60_000,
      });

      const denied = await runCli(['check', key, '--limit', '1', '--window', '1m', ...args()]);
      expect(denied.code).toBe(1);
      expect(denied.stdout).toMatch(/^denied limit=1 remaining=0 count=1 /);
    });

    it('peek shows the counter without spending, reset forgets it', async () => {
      const peek = await runCli(['peek', key, '--limit', '1', '--window', '60', '--json', ...args()]);
      expect(peek.code).toBe(0);
      expect(JSON.parse(peek.stdout)).toMatchObject({ count: 1, remaining: 0 });

      const reset = await runCli(['reset', key, '--window', '1m', '--json', ...args()]);
      expect(reset.code).toBe(0);
      expect(JSON.parse(reset.stdout)).toEqual({ reset: true });

      const after = await runCli(['check', key, '--limit', '1', '--window', '1m', ...args()]);
      expect(after.code).toBe(0);
    });

    // Neither depends on the counter the tests above spend: they run side by side.
    it.concurrent('nodes lists the running service', async () => {
      const nodes = await runCli(['nodes', '--json', ...args()]);
      expect(nodes.code).toBe(0);
      const listed = JSON.parse(nodes.stdout) as { nodes: { httpPort: number; store: string }[] };
      expect(listed.nodes.map((node) => node.httpPort)).toContain(Number(new URL(service.url).port));
    });

    it.concurrent('exits 2 with one line on stderr for invalid input', async () => {
      const result = await runCli(['check', key, '--limit', '1', '--window', '1 fortnight', ...args()]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('window');
    });
  });

  it('exits 2 when the target cannot be reached or is not given', async () => {
    const [unreachable, nowhere] = await Promise.all([
      runCli(['check', 'k', '--limit', '1', '--window', '1s', '--url', 'http://127.0.0.1:1']),
      runCli(['check', 'k', '--limit', '1', '--window', '1s']),
    ]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/^error: cannot reach/);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain('--url');
  });

  it('exits 2 on a usage error and 0 for --help on every command', async () => {
    // Each run is a process start: all at once, not one after another.
    const commands = [[], ['serve'], ['check'], ['peek'], ['reset'], ['nodes']];
    const [missingLimit, unknown, ...helps] = await Promise.all([
      runCli(['check', 'k', '--window', '1s', '--url', service.url]),
      runCli(['frobnicate']),
      ...commands.map((command) => runCli([...command, '--help'])),
    ]);
    expect(missingLimit.code).toBe(2);
    expect(unknown.code).toBe(2);
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: ratelimiter');
    }
  });
});

describe('ratelimiter serve lifecycle', () => {
  it('stops on SIGINT as on SIGTERM: exit 0 after "stopped"', async () => {
    const service = await ServiceProcess.start(['--node-id', 'sigint-node']);
    expect((await service.fetch('/healthz')).status).toBe(200);
    expect(await service.stop('SIGINT')).toBe(0);
    expect(service.logLines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  });
});

describe('ratelimiter serve with bad settings', () => {
  // Every setting's refusal is test/unit/serve-settings.test.ts's (parsed in process); here, that the
  // process exits 2 with that one line, for a flag and for an env var.
  const cases: { args: string[]; env: Record<string, string>; names: string }[] = [
    { args: ['--port', '70000'], env: {}, names: '--port' },
    { args: [], env: { REDIS_URL: 'redis+cluster://' }, names: 'REDIS_URL' },
  ];

  it.concurrent.each(cases)('exits non-zero with one line naming $names', async ({ args, env, names }) => {
    const result = await runCli(['serve', ...args], env);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(names);
  });
});

describe('ratelimiter serve with a bad rules file', () => {
  it('refuses to start on a bad rules file, naming the file, the line and the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-cli-rules-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(
        bad,
        'domain: web\ndescriptors:\n  - key: a\n    rate_limit: { unit: second, requests_per_unit: 1 }\n  - key: a\n',
      );
      const error = await ServiceProcess.start(['--rules', bad]).then(
        () => undefined,
        (failure: unknown) => String(failure),
      );
      expect(error).toContain(`invalid rules: ${bad}:5: duplicate descriptor composite key 'web.a'`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
