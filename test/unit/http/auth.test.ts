import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessService } from '../../support/in-process-service.js';

const ADMIN_TOKEN = 'admin-secret-0123456789abcdef';
const API_TOKEN = 'api-secret-0123456789abcdef';
const RESET_PATH = '/v1/counters/auth-key?window=60';

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

describe('admin and API tokens', () => {
  let secured: InProcessService;
  let open: InProcessService;

  beforeAll(async () => {
    [secured, open] = await Promise.all([
      // One token by flag, one by env var: both spellings of a setting are honoured.
      InProcessService.start(
        ['--admin-token', ADMIN_TOKEN, '--log-level', 'trace'],
        { RATELIMITER_API_TOKEN: API_TOKEN },
        { captureLogs: true },
      ),
      InProcessService.start(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([secured.stop(), open.stop()]);
  });

  it('refuses an admin call without a token (401)', async () => {
    const response = await secured.fetch(RESET_PATH, { method: 'DELETE' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toMatchObject({ error: { code: 'unauthorized', field: 'authorization' } });
  });

  it('refuses an admin call with a wrong token, including the API token (401)', async () => {
    for (const token of ['wrong-token-0123456789abcdef', API_TOKEN, `${ADMIN_TOKEN}x`]) {
      const response = await secured.fetch(RESET_PATH, { method: 'DELETE', headers: bearer(token) });
      expect(response.status).toBe(401);
    }
  });

  it('accepts the right admin token (204)', async () => {
    const response = await secured.fetch(RESET_PATH, { method: 'DELETE', headers: bearer(ADMIN_TOKEN) });
    expect(response.status).toBe(204);
  });

  it('answers 403 with a clear message when no admin token is configured', async () => {
    const response = await open.fetch(RESET_PATH, { method: 'DELETE', headers: bearer(ADMIN_TOKEN) });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('admin_disabled');
    expect(body.error.message).toContain('RATELIMITER_ADMIN_TOKEN');
  });

  it('protects decision routes with the API token when one is set', async () => {
    const check = { key: 'auth-key', limit: 5, window: 60 };
    expect((await secured.postJson('/v1/check', check)).status).toBe(401);
    expect((await secured.postJson('/v1/check', check, bearer('nope-0123456789abcdef'))).status).toBe(401);
    expect((await secured.postJson('/v1/check', check, bearer(API_TOKEN))).status).toBe(200);
    expect((await secured.fetch('/v1/counters/auth-key?limit=5&window=60')).status).toBe(401);
    // Operations routes stay open for probes and scrapers.
    expect((await secured.fetch('/healthz')).status).toBe(200);
    expect((await open.postJson('/v1/check', check)).status).toBe(200);
  });

  it('never writes a token to its log, even at trace level', () => {
    expect(secured.logLines.length).toBeGreaterThan(0);
    const log = secured.logLines.join('\n');
    expect(log).not.toContain(ADMIN_TOKEN);
    expect(log).not.toContain(API_TOKEN);
  });
});
