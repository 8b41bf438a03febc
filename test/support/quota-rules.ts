import { parseRulesFile } from '../../src/rules/parse.js';
import type { RuleSet } from '../../src/rules/types.js';

/** The rules in force for one rules file of RLQS quotas (domain `edge` unless the text says another). */
export function quotaRuleSet(text: string, file = 'q.yaml'): RuleSet {
  const parsed = parseRulesFile(file, text);
  return {
    domains: new Map([
      [parsed.domain, { domain: parsed.domain, file, level: parsed.level, quotas: parsed.quotas }],
    ]),
    files: [file],
  };
}
