import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../../src/rules/load.js';
import { parseRulesFile } from '../../../src/rules/parse.js';
import { aliasBomb, sharedAnchorRules } from '../../support/rules-files.js';
import { RulesError } from '../../../src/rules/types.js';
import type { RuleNode } from '../../../src/rules/types.js';

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

/** Every refusal of a rules file: the line it names and (part of) the reason it gives. */
const BAD: Record<string, [line: number, reason: string]> = {
  'unknown-key': [4, "unknown key 'ratelimit'"],
  'misplaced-extension': [4, "'algorithm' belongs in rate_limit"],
  'bad-unit': [5, "invalid rate limit unit 'fortnight'"],
  'missing-unit': [5, "invalid rate limit unit ''"],
  'unlimited-with-unit': [6, 'should not specify rate limit unit when unlimited'],
  'duplicate-key': [6, "duplicate descriptor composite key 'd.a_b'"],
  'duplicate-nested-key': [7, "duplicate descriptor composite key 'd.a.x'"],
  'empty-domain': [1, 'config file cannot have empty domain'],
  'missing-domain': [1, 'config file cannot have empty domain'],
  'empty-key': [4, 'descriptor has empty key'],
  'replaces-self': [9, 'replaces should not contain name of same descriptor'],
  'replaces-empty': [9, 'should not have an empty replaces entry'],
  'bad-yaml': [4, 'bad YAML: Missing closing "quote'],
  'tab-indent': [3, 'bad YAML: Tabs are not allowed'],
  'list-of-scalars': [3, 'list of type other than map'],
  'non-string-key': [4, 'key is not of type string: 1'],
  'share-threshold-without-wildcard': [5, 'share_threshold can only be used with wildcard values'],
  'bad-algorithm': [7, 'algorithm must be one of: sliding-window-log'],
  'bad-multiplier': [6, 'unit_multiplier must be between 1 and'],
  'window-too-long': [6, 'the window (2 x year) must be at most 366 days'],
  'negative-requests': [6, 'requests_per_unit must be between 0 and'],
  'text-requests': [6, 'requests_per_unit must be an integer'],
  'limit-too-large-for-algorithm': [6, 'requests_per_unit must be between 0 and 1000000000'],
  'both-rate-limit-forms': [6, 'either rate_limit or rate_limits, not both'],
  'shared-counter-in-list': [6, 'rate_limits[1] has the same algorithm and window as rate_limits[0]'],
  'unlimited-in-list': [6, 'unlimited belongs in rate_limit, not in rate_limits'],
  'flag-not-boolean': [4, 'shadow_mode must be true or false'],
  'two-documents': [2, 'bad YAML: Source contains multiple documents'],
  'merge-not-a-map': [5, 'a merge key (<<) takes a map or a list of maps'],
};

async function refusal(path: string): Promise<RulesError> {
  const error: unknown = await loadRules(path).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof RulesError)) throw new Error(`${path} loaded, or failed without a RulesError`);
  return error;
}

function refusalOf(parse: () => unknown): RulesError {
  try {
    parse();
  } catch (error) {
    if (error instanceof RulesError) return error;
    throw error;
  }
  throw new Error('the file loaded');
}

function child(node: { level: RuleNode['level'] }, lookupKey: string): RuleNode {
  const found = node.level.byLookupKey.get(lookupKey);
  if (!found) throw new Error(`no ${lookupKey}`);
  return found;
}

describe('rules file loading', () => {
  it.each(Object.entries(BAD))(
    'refuses %s with the file, the line and the reason',
    async (name, [line, reason]) => {
      const path = fixture(`bad/${name}.yaml`);
      const error = await refusal(path);
      expect(error.file).toBe(path);
      expect(error.reason).toContain(reason);
      expect(error.line).toBe(line);
      expect(error.message).toBe(`${path}:${line}: ${error.reason}`);
    },
  );

  it('has a bad fixture for every refusal listed, and no fixture untested', async () => {
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(fixture('bad'))).map((name) => name.replace(/\.yaml$/, ''));
    expect(files.sort()).toEqual(Object.keys(BAD).sort());
  });

  it('loads a file written for the reference service unchanged, with its fields', async () => {
    const { rules, warnings } = await loadRules(fixture('good/reference.yaml'));
    expect(warnings).toEqual([]);
    const edge = rules.domains.get('edge');
    if (!edge) throw new Error('no domain');
    const user = child(child(edge, 'tenant_acme'), 'user');
    expect(user.limits).toEqual([
      {
        requestsPerUnit: 5,
        unit: 'second',
        unitMultiplier: 1,
        windowMs: 1000,
        algorithm: 'fixed-window',
        name: undefined,
        replaces: [],
      },
    ]);
    expect(user.statKey).toBe('edge.tenant_acme.user');
    expect(child(edge, 'remote_address_10.0.0.2').hasRateLimit).toBe(false);
    expect(child(edge, 'path_/static/*').unlimited).toBe(true);
    expect(edge.level.wildcards.map(({ lookupKey }) => lookupKey)).toEqual([
      'path_/static/*',
      'path_/api/*/orders',
      'path_/api/*',
      'path_*.php',
      'path_/a*b*c',
      'bucket_files/*',
    ]);
    expect(child(edge, 'region_eu').replaces).toEqual(['client_default']);
    expect(child(edge, 'canary').shadowMode).toBe(true);
    expect(child(edge, 'quota').quotaMode).toBe(true);
    expect(child(edge, 'api_key').detailedMetric).toBe(true);
    expect(child(edge, 'plan_gold').metadata).toEqual({ tier: 'gold', limits: [1, 2] });
    expect(child(edge, 'plan_gold').limits[0]?.windowMs).toBe(30 * 86_400_000);
    expect(child(edge, 'annual').limits[0]?.windowMs).toBe(365 * 86_400_000);
  });

  it('loads our extensions: algorithm, unit_multiplier, rate_limits; YAML 1.1 booleans', async () => {
    const { rules } = await loadRules(fixture('good/extensions.yaml'));
    const api = rules.domains.get('api');
    if (!api) throw new Error('no domain');
    expect(child(api, 'user').limits[0]).toMatchObject({
      windowMs: 300_000,
      algorithm: 'sliding-window-log',
    });
    expect(
      child(api, 'token').limits.map(({ algorithm, windowMs, name }) => [algorithm, windowMs, name]),
    ).toEqual([
      ['token-bucket', 1000, undefined],
      ['fixed-window', 3_600_000, 'token_hourly'],
    ]);
    expect(child(api, 'yes_flag').shadowMode).toBe(true);
  });

  it('reads YAML 1.1 merge keys (<<: *base) as the reference service does: written keys win', async () => {
    const { rules, warnings } = await loadRules(fixture('good/merge-keys.yaml'));
    expect(warnings).toEqual([]);
    const merged = rules.domains.get('merged');
    if (!merged) throw new Error('no domain');
    const perSecond = (requestsPerUnit: number) => [{ requestsPerUnit, unit: 'second', windowMs: 1000 }];
    expect(child(merged, 'base').limits).toMatchObject(perSecond(10));
    expect(child(merged, 'override').limits).toMatchObject(perSecond(3));
    expect(child(child(merged, 'tenant'), 'user').limits).toMatchObject(perSecond(10));
    const partner = child(merged, 'partner');
    expect(partner.statKey).toBe('merged.partner');
    expect(child(partner, 'user').statKey).toBe('merged.partner.user');
    expect(child(merged, 'layered').limits).toMatchObject(perSecond(7));
  });

  it('refuses an alias bomb (40 nested anchors, 4.5 KB) at once, naming the alias that crosses the bound', () => {
    // Before: 14 levels took 12.8 s, 16 did not end in 60 s; 40 hung the event loop for good.
    const bomb = aliasBomb(40);
    expect(bomb.length).toBeLessThan(5000);
    const started = performance.now();
    const error = refusalOf(() => parseRulesFile('bomb.yaml', bomb));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.message).toMatch(
      /^bomb\.yaml:\d+: aliases expand the file past 1000000 nodes \(at \*l\d+\)/,
    );
    // The line is the alias's own: `descriptors: *lN` on the line that crossed.
    const alias = /at \*(l\d+)/.exec(error.reason)?.[1] ?? '';
    expect(bomb.split('\n')[error.line - 1]).toContain(`*${alias}`);
  });

  it('refuses an alias inside the node it names (it would never end), with its line', () => {
    const text = 'domain: d\ndescriptors: &all\n  - key: a\n    descriptors: *all\n';
    const error = refusalOf(() => parseRulesFile('loop.yaml', text));
    expect(error.message).toBe('loop.yaml:4: alias *all is inside the node it names: it would never end');
  });

  it('reads 1,000 rules sharing one anchor (rate_limit: *rl) without a walk per alias, and aliases in metadata', () => {
    // Before: 3.9 s (each alias resolved by a walk of the whole document); after: about 0.2 s.
    const started = performance.now();
    const parsed = parseRulesFile('shared.yaml', sharedAnchorRules(1000));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(parsed.level.byLookupKey.size).toBe(1000);
    expect(parsed.level.byLookupKey.get('user_999')?.limits[0]?.requestsPerUnit).toBe(10);
    const withMetadata = parseRulesFile(
      'meta.yaml',
      'domain: d\ndescriptors:\n  - key: a\n    metadata: &m { tier: gold }\n  - key: b\n    metadata: { plan: *m }\n',
    );
    expect(withMetadata.level.byLookupKey.get('b')?.metadata).toEqual({ plan: { tier: 'gold' } });
  });

  it('loads a directory: its .yaml and .yml files in name order, not hidden ones, one domain each', async () => {
    const { rules } = await loadRules(fixture('dir-good'));
    expect([...rules.domains.keys()].sort()).toEqual(['api', 'edge']);
    expect(rules.files.map((file) => file.split('/').pop())).toEqual(['extensions.yaml', 'reference.yaml']);
  });

  it('refuses a domain defined twice in a directory, naming the second file and its domain line', async () => {
    const error = await refusal(fixture('dir-duplicate'));
    expect(error.file).toBe(fixture('dir-duplicate/b.yml'));
    expect(error.line).toBe(2);
    expect(error.reason).toContain("duplicate domain 'same'");
  });

  it('refuses a path that does not exist', async () => {
    const error = await refusal(fixture('no-such-file.yaml'));
    expect(error.reason).toContain('cannot read the rules path');
  });
});
