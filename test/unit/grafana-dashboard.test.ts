import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessService } from '../support/in-process-service.js';

const DASHBOARD = new URL('../../docs/grafana/ratelimiter.json', import.meta.url);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
  gridPos: { h: number; w: number; x: number; y: number };
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
}

/** The metric names a PromQL expression reads: ours, and Node's process metrics prom-client adds. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:ratelimiter|nodejs|process)_[a-z0-9_]+\b/g)].map(([name]) => name);
}

/** Every sample name the service's /metrics can carry, from its `# TYPE` lines (histograms' too). */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (name === undefined) continue;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

describe('Grafana dashboard (docs/grafana/ratelimiter.json)', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const queries = [
    ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
    ...dashboard.templating.list.flatMap((variable) => variable.definition ?? []),
  ];
  let service: InProcessService;

  beforeAll(async () => {
    service = await InProcessService.start();
  });

  afterAll(async () => {
    await service.stop();
  });

  it("reads only metrics the service's /metrics exports: a renamed metric fails here", async () => {
    const exported = exportedNames(await (await service.fetch('/metrics')).text());
    // The exposition was parsed: a parser that found nothing would fail every name alike.
    expect(exported).toContain('ratelimiter_decisions_total');
    expect(exported).toContain('ratelimiter_store_call_duration_seconds_bucket');
    const missing = [...new Set(queries.flatMap(metricNames))].filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });

  it('names a metric in every query, and has the panels issue 17 asks for', () => {
    expect(queries.length).toBeGreaterThan(20);
    for (const query of queries) expect(metricNames(query), query).not.toEqual([]);
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const title of [
      'Decisions/s by outcome',
      'Units/s by rule',
      'Deny ratio',
      'Store call latency',
      'Store failures/s',
      'Live nodes',
      'Quota limit and sum assigned',
    ]) {
      expect(titles).toContain(title);
    }
    const allQueries = queries.join('\n');
    for (const name of ['ratelimiter_store_shed_total', 'ratelimiter_degraded_decisions_total']) {
      expect(allQueries).toContain(name);
    }
  });

  it('keeps every panel on the 24-column grid and gives every target a refId', () => {
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      for (const target of panel.targets ?? []) expect(target.refId).toMatch(/^[A-Z]$/);
    }
    expect(dashboard.uid).toBe('ratelimiter-service');
  });
});
