/**
 * Rules files that hurt a parser, written as an attacker or an unlucky operator would: an alias
 * bomb, many rules sharing one anchor, a big plain file.
 */

/** `levels` nested anchors, each level's list naming the previous one twice: 2^levels descriptors once expanded. */
export function aliasBomb(levels: number): string {
  const lines = [
    'domain: bomb',
    'descriptors:',
    '  - key: k0',
    '    descriptors: &l0',
    '      - key: a',
    '        rate_limit: { unit: second, requests_per_unit: 1 }',
  ];
  for (let level = 1; level <= levels; level += 1) {
    lines.push(
      `  - key: k${level}`,
      `    descriptors: &l${level}`,
      `      - { key: a, descriptors: *l${level - 1} }`,
      `      - { key: b, descriptors: *l${level - 1} }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `rules` descriptors whose `rate_limit` is one shared anchor (`rate_limit: *rl`). */
export function sharedAnchorRules(rules: number): string {
  const lines = [
    'domain: shared',
    'descriptors:',
    '  - key: user_0',
    '    rate_limit: &rl { unit: second, requests_per_unit: 10 }',
  ];
  for (let rule = 1; rule < rules; rule += 1) lines.push(`  - key: user_${rule}`, '    rate_limit: *rl');
  return `${lines.join('\n')}\n`;
}

/** `rules` plain descriptors, each with its own value and limit. */
export function plainRules(rules: number, domain = 'plain'): string {
  const lines = [`domain: ${domain}`, 'descriptors:'];
  for (let rule = 0; rule < rules; rule += 1) {
    lines.push(
      '  - key: ip',
      `    value: 10.${(rule >> 16) & 255}.${(rule >> 8) & 255}.${rule & 255}`,
      `    rate_limit: {unit: minute, requests_per_unit: ${100 + (rule % 900)}}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
