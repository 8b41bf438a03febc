import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRules, loadRules } from '../../../src/rules/load.js';
import { matchDescriptor, wildcardMatch } from '../../../src/rules/match.js';
import type { DescriptorEntry, LimitOverride } from '../../../src/rules/match.js';
import type { RuleSet } from '../../../src/rules/types.js';

let rules: RuleSet;

beforeAll(async () => {
  ({ rules } = await loadRules(fileURLToPath(new URL('fixtures/dir-good', import.meta.url))));
});

const entries = (...pairs: [string, string][]): DescriptorEntry[] =>
  pairs.map(([key, value]) => ({ key, value }));

/** The requests_per_unit that applies, 'unlimited', or undefined for no limit. */
function limitOf(domain: string, descriptor: DescriptorEntry[], override?: LimitOverride) {
  const match = matchDescriptor(rules, domain, descriptor, override);
  if (!match) return undefined;
  if (match.unlimited) return 'unlimited';
  return match.limits.map(({ requestsPerUnit }) => requestsPerUnit).join('+');
}

describe('descriptor matching (as envoyproxy/ratelimit)', () => {
  it('prefers the exact key_value over the key-only default', () => {
    expect(limitOf('edge', entries(['remote_address', '10.0.0.1']))).toBe('100');
    expect(limitOf('edge', entries(['remote_address', '10.0.0.9']))).toBe('3');
  });

  it('a value with neither rate_limit nor children matches, with no limit', () => {
    expect(limitOf('edge', entries(['remote_address', '10.0.0.2']))).toBeUndefined();
  });

  it('matches nested descriptors only at the depth of the request', () => {
    expect(limitOf('edge', entries(['tenant', 'acme'], ['user', 'bob']))).toBe('5');
    expect(limitOf('edge', entries(['tenant', 'acme'], ['user', 'admin']))).toBe('50');
    // The tenant node has no rate_limit of its own.
    expect(limitOf('edge', entries(['tenant', 'acme']))).toBeUndefined();
    // Deeper than the rules go: no limit (the reference service's "depth does not match").
    expect(limitOf('edge', entries(['tenant', 'acme'], ['user', 'bob'], ['device', 'x']))).toBeUndefined();
    expect(limitOf('edge', entries(['remote_address', '10.0.0.9'], ['path', '/']))).toBeUndefined();
    // Another tenant: no node at the first level.
    expect(limitOf('edge', entries(['tenant', 'other'], ['user', 'bob']))).toBeUndefined();
  });

  it('wildcards: prefix, suffix, middle and several stars, in file order, before the key default', () => {
    expect(limitOf('edge', entries(['path', '/static/app.js']))).toBe('unlimited');
    // "/api/*/orders" is listed before "/api/*": file order decides, not specificity.
    expect(limitOf('edge', entries(['path', '/api/v1/orders']))).toBe('10');
    expect(limitOf('edge', entries(['path', '/api/v1/users']))).toBe('20');
    expect(limitOf('edge', entries(['path', '/index.php']))).toBe('0');
    expect(limitOf('edge', entries(['path', '/a-X-b-Y-c']))).toBe('7');
    expect(limitOf('edge', entries(['path', '/abc']))).toBe('7');
    expect(limitOf('edge', entries(['path', '/acb']))).toBeUndefined();
    expect(limitOf('edge', entries(['path', '/other']))).toBeUndefined();
  });

  it('an unknown domain or an unknown key matches nothing', () => {
    expect(limitOf('nope', entries(['remote_address', '10.0.0.9']))).toBeUndefined();
    expect(limitOf('edge', entries(['unknown', 'x']))).toBeUndefined();
  });

  it('share_threshold: every value of the wildcard counts under the pattern', () => {
    const first = matchDescriptor(rules, 'edge', entries(['bucket', 'files/a.txt']));
    const second = matchDescriptor(rules, 'edge', entries(['bucket', 'files/b.txt']));
    expect(first?.sharedValues.get(0)).toBe('files/*');
    expect(second?.sharedValues).toEqual(first?.sharedValues);
    expect(first?.statKey).toBe('edge.bucket_files/*');
    // Without share_threshold each value keeps its own counter.
    expect(matchDescriptor(rules, 'edge', entries(['path', '/api/x']))?.sharedValues.size).toBe(0);
  });

  it('a limit override applies instead of the file, in any known domain, without shadow mode', () => {
    expect(limitOf('edge', entries(['canary', 'x']), { requestsPerUnit: 42, unit: 'hour' })).toBe('42');
    const overridden = matchDescriptor(rules, 'edge', entries(['canary', 'x']), {
      requestsPerUnit: 42,
      unit: 'hour',
    });
    expect(overridden?.shadowMode).toBe(false);
    expect(overridden?.limits[0]?.windowMs).toBe(3_600_000);
    // Even where the file has no rule; never in an unknown domain.
    expect(limitOf('edge', entries(['free', 'x']), { requestsPerUnit: 1, unit: 'second' })).toBe('1');
    expect(limitOf('nope', entries(['free', 'x']), { requestsPerUnit: 1, unit: 'second' })).toBeUndefined();
    // The override keeps the rule's algorithm, and its metric names keys only, never values.
    const api = matchDescriptor(rules, 'api', entries(['user', 'u1']), {
      requestsPerUnit: 9,
      unit: 'minute',
    });
    expect(api?.limits[0]?.algorithm).toBe('sliding-window-log');
    expect(api?.statKey).toBe('api.user:override');
  });

  it('names rules as the reference service does: the rule path, or the request path with detailed_metric', () => {
    expect(matchDescriptor(rules, 'edge', entries(['remote_address', '10.0.0.9']))?.statKey).toBe(
      'edge.remote_address',
    );
    expect(matchDescriptor(rules, 'edge', entries(['path', '/api/v1/users']))?.statKey).toBe(
      'edge.path_/api/*',
    );
    expect(matchDescriptor(rules, 'edge', entries(['api_key', 'k-123']))?.statKey).toBe('edge.api_key_k-123');
  });

  it('value_to_metric and share_threshold name metrics as the reference service does', () => {
    const text = `
domain: m
descriptors:
  - key: route
    value: api/*
    value_to_metric: true
    descriptors:
      - key: method
        rate_limit: { unit: minute, requests_per_unit: 60 }
  - key: shared
    value: api/*
    share_threshold: true
    value_to_metric: true
    descriptors:
      - key: method
        value_to_metric: true
        rate_limit: { unit: minute, requests_per_unit: 60 }
  - key: svc
    value: svc/*
    share_threshold: true
    descriptors:
      - key: endpoint
        detailed_metric: true
        rate_limit: { unit: minute, requests_per_unit: 80 }
`;
    const own = buildRules({ files: [{ file: 'm.yaml', text }], fingerprint: '' }).rules;
    const statKey = (...pairs: [string, string][]) => matchDescriptor(own, 'm', entries(...pairs))?.statKey;
    // value_to_metric: the request's value instead of the wildcard; a level without it keeps its key.
    expect(statKey(['route', 'api/v1'], ['method', 'GET'])).toBe('m.route_api/v1.method');
    // share_threshold wins over value_to_metric: the pattern, whatever the value.
    expect(statKey(['shared', 'api/v1'], ['method', 'GET'])).toBe('m.shared_api/*.method_GET');
    // detailed_metric with share_threshold: the pattern for the shared entry, values for the rest.
    expect(statKey(['svc', 'svc/a'], ['endpoint', 'list'])).toBe('m.svc_svc/*.endpoint_list');
  });

  it('reports the several limits of a rate_limits list, and what a match replaces', () => {
    expect(limitOf('api', entries(['token', 't']))).toBe('2+5');
    expect(matchDescriptor(rules, 'edge', entries(['region', 'eu']))?.replaces).toEqual(['client_default']);
  });
});

describe('wildcardMatch', () => {
  /** What `*` means: any run of characters, the rest literally. */
  function regexMatch(parts: readonly string[], text: string): boolean {
    const escaped = parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${escaped.join('[\\s\\S]*')}$`).test(text);
  }

  it('agrees with the obvious regular expression on random patterns and texts', () => {
    const alphabet = fc.constantFrom('a', 'b', 'ab', 'ba', '');
    fc.assert(
      fc.property(
        fc.array(alphabet, { minLength: 1, maxLength: 4 }),
        fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 8 }),
        (parts, text) => {
          expect(wildcardMatch(parts, text)).toBe(regexMatch(parts, text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('does not let prefix and suffix overlap', () => {
    expect(wildcardMatch(['ab', 'ba'], 'aba')).toBe(false);
    expect(wildcardMatch(['ab', 'ba'], 'abba')).toBe(true);
  });
});
