import { describe, expect, it } from 'vitest';
import { parseRulesFile } from '../../../src/rules/parse.js';
import { matchQuota } from '../../../src/rules/quotas.js';
import type { QuotaRule } from '../../../src/rules/quotas.js';
import { RulesError } from '../../../src/rules/types.js';

const GOOD = `domain: edge
descriptors:
  - key: a
    rate_limit: { unit: second, requests_per_unit: 1 }
quotas:
  - bucket: { name: api, tenant: "*" }
    requests_per_unit: 6000
    unit: minute
  - bucket: { name: api, tenant: acme }
    requests_per_unit: 100
    unit: second
    name: acme-api
  - bucket: { name: "*", tenant: "*" }
    requests_per_unit: 10
    unit: hour
    unit_multiplier: 2
`;

function refusal(text: string): RulesError {
  try {
    parseRulesFile('q.yaml', text);
  } catch (error) {
    if (error instanceof RulesError) return error;
    throw error;
  }
  throw new Error('the file was accepted');
}

const id = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('quotas in the rules file', () => {
  const { quotas, level } = parseRulesFile('q.yaml', GOOD);

  it('reads each entry next to the descriptors, in file order', () => {
    expect(level.byLookupKey.has('a')).toBe(true);
    expect(
      quotas.map((quota) => [
        quota.name,
        quota.requestsPerUnit,
        quota.unitSeconds,
        quota.wildcards,
        quota.line,
      ]),
    ).toEqual([
      ['{name=api, tenant=*}', 6000, 60, 1, 6],
      ['acme-api', 100, 1, 0, 9],
      ['{name=*, tenant=*}', 10, 7200, 2, 13],
    ]);
  });

  it('matches exactly the same keys, each value equal or "*", the fewest "*" winning', () => {
    const match = (entries: Record<string, string>): QuotaRule | undefined => matchQuota(quotas, id(entries));
    expect(match({ tenant: 'acme', name: 'api' })?.name).toBe('acme-api');
    expect(match({ name: 'api', tenant: 'other' })?.name).toBe('{name=api, tenant=*}');
    expect(match({ name: 'web', tenant: 'other' })?.name).toBe('{name=*, tenant=*}');
    expect(match({ name: 'api' })).toBeUndefined();
    expect(match({ name: 'api', tenant: 'acme', extra: 'x' })).toBeUndefined();
  });

  it('a tie in "*" goes to the first entry of the file', () => {
    const { quotas: tied } = parseRulesFile(
      't.yaml',
      `domain: d
quotas:
  - { bucket: { a: "*", b: x }, requests_per_unit: 1, unit: second, name: first }
  - { bucket: { a: y, b: "*" }, requests_per_unit: 2, unit: second, name: second }
`,
    );
    expect(matchQuota(tied, id({ a: 'y', b: 'x' }))?.name).toBe('first');
  });

  it('a file without quotas has none', () => {
    expect(parseRulesFile('n.yaml', 'domain: d\n').quotas).toEqual([]);
  });

  const header = 'domain: d\nquotas:\n';
  it.each([
    ['not a list', 'domain: d\nquotas: 5\n', 2, 'quotas must be a list'],
    ['no bucket', `${header}  - { requests_per_unit: 1, unit: second }\n`, 3, 'needs a bucket'],
    [
      'empty bucket',
      `${header}  - { bucket: {}, requests_per_unit: 1, unit: second }\n`,
      3,
      'at least one key',
    ],
    [
      'empty value',
      `${header}  - { bucket: { a: "" }, requests_per_unit: 1, unit: second }\n`,
      3,
      'bucket.a must not be empty',
    ],
    [
      'partial wildcard',
      `${header}  - { bucket: { a: "x*" }, requests_per_unit: 1, unit: second }\n`,
      3,
      'only "*" on its own',
    ],
    [
      'bad unit',
      `${header}  - { bucket: { a: x }, requests_per_unit: 1, unit: fortnight }\n`,
      3,
      "invalid rate limit unit 'fortnight'",
    ],
    [
      'no requests_per_unit',
      `${header}  - { bucket: { a: x }, unit: second }\n`,
      3,
      'needs requests_per_unit',
    ],
    [
      'negative',
      `${header}  - bucket: { a: x }\n    unit: second\n    requests_per_unit: -1\n`,
      5,
      'requests_per_unit must be between 0 and',
    ],
    [
      'unknown key',
      `${header}  - { bucket: { a: x }, requests_per_unit: 1, unit: second, algorithm: fixed-window }\n`,
      3,
      "'algorithm' belongs in rate_limit",
    ],
    [
      'duplicate',
      `${header}  - { bucket: { a: x, b: "*" }, requests_per_unit: 1, unit: second }\n  - { bucket: { b: "*", a: x }, requests_per_unit: 2, unit: second }\n`,
      4,
      'duplicate quota bucket (the same keys and values as the entry at line 3)',
    ],
    [
      'too long',
      `${header}  - { bucket: { a: x }, requests_per_unit: 1, unit: year, unit_multiplier: 2 }\n`,
      3,
      'must be at most 366 days',
    ],
  ])('refuses %s with file, line and reason', (_name, text, line, reason) => {
    const error = refusal(text);
    expect(error.file).toBe('q.yaml');
    expect(error.line).toBe(line);
    expect(error.reason).toContain(reason);
  });
});
