import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_ASSET_FILES } from '../../../src/http/console-assets.js';
import { InProcessService } from '../../support/in-process-service.js';

const ADMIN_TOKEN = 'console-page-admin-0123456789';

/** The assets index.html names, by `href` or `src`. */
function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((match) => match[1] ?? '');
}

describe('console page (GET /console)', () => {
  let enabled: InProcessService;
  let disabled: InProcessService;

  beforeAll(async () => {
    [enabled, disabled] = await Promise.all([
      InProcessService.start(['--admin-token', ADMIN_TOKEN]),
      InProcessService.start(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([enabled.stop(), disabled.stop()]);
  });

  it('answers 403 admin_disabled, as the admin routes do, when no admin token is set', async () => {
    const page = await disabled.fetch('/console');
    const json = await disabled.fetch('/v1/console/snapshot', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(page.status).toBe(403);
    expect(await page.json()).toEqual(await json.json());
    const html = await (await enabled.fetch('/console')).text();
    for (const url of assetUrls(html)) expect((await disabled.fetch(url)).status).toBe(403);
  });

  it('serves the sign-in page without a token, under a strict Content-Security-Policy', async () => {
    const response = await enabled.fetch('/console');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await response.text();
    expect(html).toMatch(/<label for="token">Admin token<\/label>/);
    expect(html).toMatch(/<input id="token"[^>]*type="password"/);
    // No inline script or style: every <script> has a src, no element carries a style attribute.
    expect(html.match(/<script\b[^>]*>/g)?.every((tag) => tag.includes(' src='))).toBe(true);
    expect(html).not.toMatch(/\sstyle=|<style/);
  });

  it('serves every asset the page names from a versioned path, cacheable for a year', async () => {
    const html = await (await enabled.fetch('/console')).text();
    const urls = assetUrls(html);
    expect(urls.length).toBeGreaterThan(0);
    const prefix = /^\/console\/assets\/[0-9a-f]{12}\//.exec(urls[0] ?? '')?.[0];
    expect(prefix).toBeDefined();
    for (const file of CONSOLE_ASSET_FILES) {
      const response = await enabled.fetch(`${prefix}${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await enabled.fetch(`${prefix}main.js`)).headers.get('content-type')).toBe(
      'text/javascript; charset=utf-8',
    );
    // Another release's asset, or a path that is not an asset: 404, never a file from disk.
    for (const url of [
      '/console/assets/000000000000/main.js',
      `${prefix}index.html`,
      `${prefix}..%2Fpackage.json`,
    ]) {
      const response = await enabled.fetch(url);
      expect(response.status, url).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('ships the page in the package: web/ is in package.json "files"', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      files: string[];
    };
    expect(manifest.files).toContain('web');
  });

  it('sends the admin token only as a header: no script puts it in a URL', async () => {
    const html = await (await enabled.fetch('/console')).text();
    const prefix = /\/console\/assets\/[0-9a-f]{12}\//.exec(html)?.[0] ?? '';
    const api = await (await enabled.fetch(`${prefix}api.js`)).text();
    expect(api).toContain('authorization: `Bearer ${token}`');
    expect(api).toContain('sessionStorage');
    expect(api).not.toMatch(/[?&]token=/);
  });
});
