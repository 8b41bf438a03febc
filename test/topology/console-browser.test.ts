import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { EDGE_QUOTA_RULES, SimulatedEnvoy } from '../../support/rlqs-proxy.js';
import { ServiceProcess, eventually } from '../../support/service-process.js';

/**
 * The operator console in a real browser: Debian's Chromium (scripts/install-test-tools.sh installs
 * it; nothing is downloaded) driven by playwright-core, against two service processes on one Redis.
 * One browser and one pair of nodes serve the whole file, in order: sign-in, sections, keys, a node
 * leaving. (403 admin_disabled without an admin token: test/unit/console/console-page.test.ts.)
 */
const ADMIN_TOKEN = 'console-browser-admin-0123456789';
const SECRET_KEY = 'user:alice@example.com';
/** Where the screenshot of the live page goes (the test's output); RATELIMITER_CONSOLE_SCREENSHOT overrides. */
const SCREENSHOT = process.env.RATELIMITER_CONSOLE_SCREENSHOT ?? join(tmpdir(), 'ratelimiter-console.png');
/** Short heartbeats: a stopped node leaves the registry three of them (750 ms) after its last. */
const HEARTBEAT_MS = '250';

const QUOTA_BUCKET = { name: 'api', tenant: 'acme' };

const SECTIONS = ['Nodes', 'Decisions', 'Top limited keys', 'Rules', 'Store', 'Quotas'];

describe('operator console in Chromium', () => {
  let redis: RedisServer | undefined;
  let nodeA: ServiceProcess;
  let nodeB: ServiceProcess;
  let browser: Browser | undefined;
  let page: Page;
  /** Every body the page fetched from /v1/*: what the browser was given, not only what it shows. */
  const fetched: string[] = [];

  const started: ServiceProcess[] = [];
  /** Both nodes load one RLQS quota (100/s per tenant in domain `edge`), for the Quotas section. */
  const rulesDir = mkdtempSync(join(tmpdir(), 'ratelimiter-console-rules-'));
  const rulesPath = join(rulesDir, 'rules.yaml');
  writeFileSync(rulesPath, EDGE_QUOTA_RULES);
  let envoy: SimulatedEnvoy | undefined;

  async function startNode(
    redisUrl: string,
    id: string,
    env: Record<string, string> = {},
  ): Promise<ServiceProcess> {
    const node = await ServiceProcess.start(
      [
        ...['--redis', redisUrl, '--node-id', id, '--admin-token', ADMIN_TOKEN, '--rules', rulesPath],
        ...['--heartbeat-ms', HEARTBEAT_MS, '--store-timeout-ms', '2000'],
      ],
      env,
    );
    started.push(node);
    return node;
  }

  /** Drives SECRET_KEY over a limit of 2 on a node: 2 admitted, `denials` denied. */
  async function overLimit(node: ServiceProcess, denials: number): Promise<void> {
    for (let i = 0; i < 2 + denials; i++) {
      const response = await node.postJson('/v1/check', { key: SECRET_KEY, limit: 2, window: '1m' });
      expect(response.status).toBe(200);
    }
  }

  async function signIn(on: Page, token: string): Promise<void> {
    await on.getByLabel('Admin token').fill(token);
    await on.keyboard.press('Enter');
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    const redisUrl = redis.url;
    let launched: Browser;
    [nodeA, nodeB, launched] = await Promise.all([
      startNode(redisUrl, 'console-a'),
      // A plain peer: the hashed node asked must hash its keys before they reach the page.
      startNode(redisUrl, 'console-b', { RATELIMITER_CONSOLE_KEYS: 'plain' }),
      chromium.launch({ executablePath: '/usr/bin/chromium' }),
    ]);
    browser = launched;
    const context = await launched.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/v1/'))
        void response.text().then(
          (text) => fetched.push(text),
          () => undefined,
        );
    });
    // A proxy holding a quota bucket on node A, from before the page's first refresh.
    envoy = new SimulatedEnvoy({
      addresses: [`127.0.0.1:${nodeA.grpcPort}`],
      domain: 'edge',
      reportIntervalMs: 300,
    });
    envoy.start();
    envoy.request(QUOTA_BUCKET); // a bucket's first request is reported at once
    await Promise.all([overLimit(nodeA, 4), overLimit(nodeB, 3)]);
  });

  afterAll(async () => {
    envoy?.stop();
    await browser?.close();
    await Promise.all(started.map((node) => node.stop()));
    await redis?.stop();
    rmSync(rulesDir, { recursive: true, force: true });
  });

  it('answers 401 on the JSON routes without a token or with a wrong one', async () => {
    for (const path of ['/v1/console/snapshot', '/v1/console/node']) {
      expect((await nodeA.fetch(path)).status).toBe(401);
      const wrong = await nodeA.fetch(path, {
        headers: { authorization: 'Bearer not-the-token-0123456789' },
      });
      expect(wrong.status).toBe(401);
    }
  });

  it('refuses a wrong token on the page, then signs in by keyboard with the right one', async () => {
    await page.goto(`${nodeA.url}/console`);
    const field = page.getByLabel('Admin token');
    expect(await field.getAttribute('type')).toBe('password');
    // The page puts the caret in the field.
    expect(await page.evaluate('document.activeElement?.id')).toBe('token');
    await signIn(page, 'not-the-admin-token-0123');
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Nodes' }).isVisible()).toBe(false);

    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    // Once the first figures are in, the page moves the focus to them (where a screen reader reads on).
    await eventually(
      async () => (await page.evaluate('document.activeElement?.id')) === 'nodes-heading',
      'the focus to move to the first section',
    );
    expect(await page.evaluate('sessionStorage.length')).toBe(1);
    expect(page.url()).toBe(`${nodeA.url}/console`);
    // The keyboard reaches the controls, and the focused one is outlined.
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('sign-out');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
  });

  it('shows every section by its accessible name, both nodes and the decisions', async () => {
    for (const name of SECTIONS) await page.getByRole('heading', { name, exact: true }).waitFor();
    for (const name of ['Nodes', 'Top limited keys', 'Rules', 'Store', 'Quotas']) {
      await page.getByRole('table', { name, exact: true }).waitFor();
    }
    const nodes = page.getByRole('table', { name: 'Nodes', exact: true });
    await nodes.getByRole('row', { name: /console-b/ }).waitFor();
    await nodes.getByRole('row', { name: /console-a \(this node\)/ }).waitFor();
    await page
      .getByRole('table', { name: /^Decisions per second/ })
      .getByRole('row', { name: /console-a/ })
      .waitFor();
  });

  it('lists the key denied most as a hash, never as sent, in the page or in what it fetched; the figures move', async () => {
    const keys = page.getByRole('table', { name: 'Top limited keys', exact: true });
    const first = keys.getByRole('rowheader').first();
    await first.waitFor();
    expect(await first.textContent()).toMatch(/^h:[0-9a-f]{12}$/);
    const row = keys.getByRole('row', { name: /^h:/ }).first();
    expect(await row.textContent()).toMatch(/sliding-window-log/);
    // The figures move: three more denials show within a refresh or two.
    const deniedCell = row.getByRole('cell').first();
    const before = Number(await deniedCell.textContent());
    await overLimit(nodeA, 3);
    const label = (await first.textContent()) ?? '';
    const deniedOf = async () =>
      Number(await keys.getByRole('row', { name: label }).getByRole('cell').first().textContent());
    await eventually(
      async () => (await deniedOf()) >= before + 3,
      'the new denials to be counted on the page',
    );
    // A refresh after beforeAll's decisions: the chart (which leaves out the second under way) has them.
    const chart = page.getByRole('img', { name: /^Decisions of the whole deployment/ });
    const peak = /peak (\d+\.\d) per second/.exec((await chart.getAttribute('aria-label')) ?? '')?.[1];
    expect(Number(peak)).toBeGreaterThan(0);
    expect(await page.content()).not.toContain(SECRET_KEY);
    expect(fetched.length).toBeGreaterThan(0);
    for (const body of fetched) expect(body).not.toContain(SECRET_KEY);
  });

  it("shows an RLQS bucket in Quotas: the quota's limit and the sum assigned to the proxies", async () => {
    await eventually(
      () => Promise.resolve(typeof envoy?.assignment(QUOTA_BUCKET) === 'number'),
      'an assignment',
    );
    const row = page
      .getByRole('table', { name: 'Quotas', exact: true })
      .getByRole('row', { name: /tenant=acme/ });
    await row.waitFor();
    const [bucketCell, quota, limit, assigned, proxies] = await row.getByRole('cell').allTextContents();
    expect([bucketCell, quota, limit, proxies]).toEqual([
      'name=api, tenant=acme',
      '{name=api, tenant=*}',
      '100 per 1s',
      '1',
    ]);
    // What the proxy holds moves with its demand; the page shows a share of the 100.
    expect(Number(assigned)).toBeGreaterThan(0);
    expect(Number(assigned)).toBeLessThanOrEqual(100);
  });

  it('shows keys as sent on a node set to RATELIMITER_CONSOLE_KEYS=plain; saves a screenshot', async () => {
    const plainPage = await page.context().newPage();
    try {
      await plainPage.goto(`${nodeB.url}/console`);
      await signIn(plainPage, ADMIN_TOKEN);
      const keys = plainPage.getByRole('table', { name: 'Top limited keys', exact: true });
      await keys.getByRole('rowheader', { name: SECRET_KEY }).waitFor();
    } finally {
      await plainPage.close();
    }
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('drops a node from Nodes once it stops', async () => {
    await nodeB.stop();
    const nodes = page.getByRole('table', { name: 'Nodes', exact: true });
    await nodes.getByRole('row', { name: /console-b/ }).waitFor({ state: 'detached' });
    await nodes.getByRole('row', { name: /console-a/ }).waitFor();
  });
});
