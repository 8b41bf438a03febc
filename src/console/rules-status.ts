import type { RuleLevel, RuleSet } from '../rules/types.js';
import type { WireRules, WireRulesError } from '../protocol/console.js';

/** Rules with a limit in one level of the tree and below (wildcards included). */
function countRules(level: RuleLevel): number {
  let count = 0;
  const nodes = [...level.byLookupKey.values(), ...level.wildcards.map(({ node }) => node)];
  for (const node of nodes) count += (node.hasRateLimit ? 1 : 0) + countRules(node.level);
  return count;
}

/** The rules in force and how their last reloads went, for the console's Rules section. */
export class RulesStatus {
  private domains: { domain: string; rules: number }[] = [];
  private lastLoadAt: string | null = null;
  private lastErrorAt: string | null = null;
  private lastError: WireRulesError | null = null;

  constructor(private readonly path: string | undefined) {}

  loaded(rules: RuleSet, at = new Date()): void {
    this.domains = [...rules.domains.values()]
      .map(({ domain, level }) => ({ domain, rules: countRules(level) }))
      .sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
    this.lastLoadAt = at.toISOString();
    this.lastError = null;
    this.lastErrorAt = null;
  }

  failed(error: WireRulesError, at = new Date()): void {
    this.lastError = { file: error.file, line: error.line, reason: error.reason };
    this.lastErrorAt = at.toISOString();
  }

  report(): WireRules {
    return {
      path: this.path ?? null,
      domains: this.domains.map((domain) => ({ ...domain })),
      ruleCount: this.domains.reduce((sum, { rules }) => sum + rules, 0),
      lastLoadAt: this.lastLoadAt,
      lastErrorAt: this.lastErrorAt,
      lastError: this.lastError,
    };
  }
}
