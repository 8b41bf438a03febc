import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRules } from '../../../src/rules/load.js';
import type { LoadedRules, RulesSnapshot } from '../../../src/rules/load.js';
import { RulesParser } from '../../../src/rules/rules-parser.js';
import { RulesError } from '../../../src/rules/types.js';
import { plainRules } from '../../support/rules-files.js';

const snapshot = (text: string, file = '/rules/big.yaml'): RulesSnapshot => ({
  files: [{ file, text }],
  fingerprint: file,
});

/** How many turns the event loop makes while `work` is pending: 0 means it was held throughout. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const spin = () => {
    if (!running) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const pending = work();
  await pending;
  running = false;
  return turns;
}

/**
 * The rules parser's worker thread: a reload of a big file (8,000 rules, about a second of
 * parsing) leaves the event loop free, and what comes back is what the parser on the loop makes.
 */
describe('RulesParser', () => {
  let parser: RulesParser;
  const big = snapshot(plainRules(8000));

  beforeAll(async () => {
    parser = new RulesParser();
    // The thread's start is paid once, before the measured parses.
    await parser.build(snapshot('domain: warm\n'));
  });

  afterAll(async () => {
    await parser.close();
  });

  it('parses off the event loop: the loop keeps turning while a big file parses', async () => {
    // On the loop, the parse holds it for the whole second: not one turn in between.
    expect(await turnsDuring(() => Promise.resolve(buildRules(big)))).toBe(0);
    expect(await turnsDuring(() => parser.build(big))).toBeGreaterThan(0);
  });

  it('gives the rule set the loop would have built, Maps and all', async () => {
    const text = `${plainRules(3, 'small')}quotas:\n  - bucket: { name: api, tenant: "*" }\n    requests_per_unit: 5\n    unit: second\n`;
    const here: LoadedRules = buildRules(snapshot(text));
    const there = await parser.build(snapshot(text));
    expect(there).toEqual(here);
    expect(there.rules.domains.get('small')?.level.byLookupKey).toBeInstanceOf(Map);
  });

  it('refuses a bad file with its file, line and reason, and parses the next one', async () => {
    const error = await parser
      .build(snapshot('domain: d\ndescriptors:\n  - key: k\n    ratelimit: {}\n', '/rules/bad.yaml'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RulesError);
    expect(error).toMatchObject({ file: '/rules/bad.yaml', line: 4 });
    expect((error as RulesError).reason).toContain("unknown key 'ratelimit'");
    expect((await parser.build(snapshot('domain: next\n'))).rules.domains.has('next')).toBe(true);
  });

  it('refuses builds once closed', async () => {
    const closing = new RulesParser();
    await closing.close();
    await expect(closing.build(snapshot('domain: d\n'))).rejects.toThrow(/closed/);
  });
});
