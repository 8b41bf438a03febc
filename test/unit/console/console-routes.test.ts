import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireConsoleSnapshot, WireNodeReport } from '../../../src/protocol/console.js';
import { InProcessService } from '../../support/in-process-service.js';

const ADMIN_TOKEN = 'console-admin-0123456789abcdef';
const SECRET_KEY = 'user:alice@example.com';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Drive SECRET_KEY over a limit of 2: 2 admitted, `denials` denied. */
async function overLimit(service: InProcessService, denials: number): Promise<void> {
  for (let i = 0; i < 2 + denials; i++) {
    const response = await service.postJson('/v1/check', {
      key: SECRET_KEY,
      limit: 2,
      window: 60,
      algorithm: 'fixed-window',
    });
    expect(response.status).toBe(200);
  }
}

async function snapshot(service: InProcessService): Promise<{ text: string; body: WireConsoleSnapshot }> {
  const response = await service.fetch('/v1/console/snapshot', { headers: bearer(ADMIN_TOKEN) });
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const text = await response.text();
  return { text, body: JSON.parse(text) as WireConsoleSnapshot };
}

describe('console JSON routes', () => {
  let hashed: InProcessService;
  let plain: InProcessService;
  let disabled: InProcessService;
  let rulesDir: string;

  beforeAll(async () => {
    rulesDir = mkdtempSync(join(tmpdir(), 'console-rules-'));
    writeFileSync(
      join(rulesDir, 'api.yaml'),
      'domain: api\ndescriptors:\n  - key: user\n    rate_limit: { unit: minute, requests_per_unit: 5 }\n  - key: path\n    value: /login\n    rate_limit: { unit: second, requests_per_unit: 1 }\n',
    );
    [hashed, plain, disabled] = await Promise.all([
      InProcessService.start(['--admin-token', ADMIN_TOKEN, '--rules', rulesDir, '--node-id', 'hashed-node']),
      InProcessService.start(['--admin-token', ADMIN_TOKEN, '--node-id', 'plain-node'], {
        RATELIMITER_CONSOLE_KEYS: 'plain',
      }),
      InProcessService.start(),
    ]);
    await Promise.all([overLimit(hashed, 3), overLimit(plain, 3)]);
  });

  afterAll(async () => {
    await Promise.all([hashed.stop(), plain.stop(), disabled.stop()]);
    rmSync(rulesDir, { recursive: true, force: true });
  });

  it('answers 401 without a token or with a wrong one, 403 admin_disabled when none is set', async () => {
    for (const path of ['/v1/console/snapshot', '/v1/console/node']) {
      const missing = await hashed.fetch(path);
      expect(missing.status).toBe(401);
      expect(await missing.json()).toMatchObject({ error: { code: 'unauthorized', field: 'authorization' } });
      const wrong = await hashed.fetch(path, { headers: bearer('not-the-admin-token-0123') });
      expect(wrong.status).toBe(401);
      const off = await disabled.fetch(path, { headers: bearer(ADMIN_TOKEN) });
      expect(off.status).toBe(403);
      expect(await off.json()).toMatchObject({ error: { code: 'admin_disabled' } });
    }
  });

  it('lists the node, its decisions and the key denied most, hashed by default', async () => {
    const { text, body } = await snapshot(hashed);
    expect(body.keys).toBe('hashed');
    expect(body.nodes.map(({ id, reachable }) => ({ id, reachable }))).toEqual([
      { id: 'hashed-node', reachable: true },
    ]);
    const fleetTotal = (field: 'allowed' | 'denied') =>
      body.decisions.fleet[field].reduce((a, b) => a + b, 0);
    expect(fleetTotal('allowed')).toBe(2);
    expect(fleetTotal('denied')).toBe(3);
    expect(body.decisions.byNode['hashed-node']?.denied.reduce((a, b) => a + b, 0)).toBe(3);
    const [top] = body.deniedKeys.top;
    expect(top).toMatchObject({ denied: 3, algorithm: 'fixed-window', limit: 2, windowMs: 60_000 });
    expect(top?.key).toMatch(/^h:[0-9a-f]{12}$/);
    // Never the key itself, nor any recognizable part of it, anywhere in the JSON.
    expect(text).not.toContain('alice');
    expect(text).not.toContain(encodeURIComponent(SECRET_KEY));
  });

  it('shows the keys themselves with RATELIMITER_CONSOLE_KEYS=plain', async () => {
    const { body } = await snapshot(plain);
    expect(body.keys).toBe('plain');
    expect(body.deniedKeys.top[0]).toMatchObject({ key: SECRET_KEY, denied: 3 });
  });

  it('hashes a key the same way on every node of a deployment (same admin token)', async () => {
    const fromHashed = (await snapshot(hashed)).body.deniedKeys.top[0]?.key;
    const node = (await (
      await plain.fetch('/v1/console/node', { headers: bearer(ADMIN_TOKEN) })
    ).json()) as WireNodeReport;
    expect(node.deniedKeys.keys).toBe('plain');
    // The hashed node's label of the key is what the plain node's key becomes once relabelled.
    expect(fromHashed).toMatch(/^h:/);
    const other = await InProcessService.start(['--admin-token', ADMIN_TOKEN, '--node-id', 'other']);
    try {
      await overLimit(other, 1);
      expect((await snapshot(other)).body.deniedKeys.top[0]?.key).toBe(fromHashed);
    } finally {
      await other.stop();
    }
  });

  it('reports the rules loaded and the store', async () => {
    const { body } = await snapshot(hashed);
    expect(body.rules).toEqual([
      expect.objectContaining({
        nodeId: 'hashed-node',
        path: rulesDir,
        domains: [{ domain: 'api', rules: 2 }],
        ruleCount: 2,
        lastError: null,
      }),
    ]);
    expect(Date.parse(body.rules[0]?.lastLoadAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(body.store).toMatchObject({ errors: {}, denyCacheHits: 0, shed: 0 });
    expect(body.store.byNode[0]).toMatchObject({ nodeId: 'hashed-node', kind: 'memory' });
  });

  it("answers one node's own report with only that node", async () => {
    const response = await hashed.fetch('/v1/console/node', { headers: bearer(ADMIN_TOKEN) });
    const report = (await response.json()) as WireNodeReport;
    expect(report.nodeId).toBe('hashed-node');
    expect(report.deniedKeys.top[0]?.key).toMatch(/^h:/);
    expect(report.decisions.denied.reduce((a, b) => a + b, 0)).toBe(3);
  });
});
