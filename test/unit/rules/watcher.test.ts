import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RulesWatcher } from '../../../src/rules/watcher.js';
import type { RulesError, RuleSet } from '../../../src/rules/types.js';
import { eventually } from '../../../support/service-process.js';

const domain = (name: string) =>
  `domain: ${name}\ndescriptors:\n  - key: k\n    rate_limit: { unit: second, requests_per_unit: 1 }\n`;

/**
 * Replace a file as editors do (a hidden temporary renamed over it): a poll never reads it
 * half-written, which a write in place allows (and the watcher then rightly reports).
 */
function put(dir: string, name: string, text: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), text);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Short polls: "several polls later" is a few hundred milliseconds. */
const POLL_MS = 50;
/** Past the watch's settle delay (100 ms) and several polls. */
const SEVERAL_POLLS_MS = 300;

async function watching(files: Record<string, string>, pollIntervalMs = POLL_MS) {
  const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-rules-watch-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const reloads: RuleSet[] = [];
  const errors: RulesError[] = [];
  const { watcher } = await RulesWatcher.start({
    path: dir,
    pollIntervalMs,
    onReload: (rules) => reloads.push(rules),
    onError: (error) => errors.push(error),
  });
  return { dir, watcher, reloads, errors };
}

const domains = (rules: RuleSet | undefined) => [...(rules?.domains.keys() ?? [])].sort();

describe('RulesWatcher on a directory', () => {
  it('picks up a new file, tells a bad one once (not at every poll), and recovers', async () => {
    const { dir, watcher, reloads, errors } = await watching({ 'a.yaml': domain('a') });
    try {
      expect(domains(watcher.current)).toEqual(['a']);
      put(dir, 'b.yaml', domain('b'));
      await eventually(() => Promise.resolve(domains(watcher.current).length === 2), 'b to load', 2000);
      expect(domains(reloads.at(-1))).toEqual(['a', 'b']);

      put(dir, 'c.yaml', 'domain: a\n');
      await eventually(
        () => Promise.resolve(errors.length === 1),
        'the duplicate domain to be refused',
        2000,
      );
      expect(errors[0]?.reason).toContain("duplicate domain 'a'");
      // Several polls later: still one report, and the good rules in force.
      await new Promise((resolve) => setTimeout(resolve, SEVERAL_POLLS_MS));
      expect(errors).toHaveLength(1);
      expect(domains(watcher.current)).toEqual(['a', 'b']);

      put(dir, 'c.yaml', domain('c'));
      await eventually(() => Promise.resolve(domains(watcher.current).length === 3), 'c to load', 2000);
    } finally {
      watcher.close();
    }
  });

  it('reloads nothing when a file is touched without a change', async () => {
    const { dir, watcher, reloads } = await watching({ 'a.yaml': domain('a') });
    try {
      writeFileSync(join(dir, 'a.yaml'), domain('a'));
      await new Promise((resolve) => setTimeout(resolve, SEVERAL_POLLS_MS));
      expect(reloads).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it('tells a bad file again after a good one came between', async () => {
    const { dir, watcher, errors } = await watching({ 'a.yaml': domain('a') });
    try {
      put(dir, 'a.yaml', 'domain: ""\n');
      await eventually(() => Promise.resolve(errors.length === 1), 'the first refusal', 2000);
      put(dir, 'a.yaml', domain('a'));
      // Twice: while a poll is in flight, check() answers with that poll, which may have read the
      // file before this write; the second call ends with a look taken after it.
      await watcher.check();
      await watcher.check();
      put(dir, 'a.yaml', 'domain: ""\n');
      await eventually(() => Promise.resolve(errors.length === 2), 'the second refusal', 2000);
      expect(errors.map(({ line }) => line)).toEqual([1, 1]);
    } finally {
      watcher.close();
    }
  });

  it('keeps the last good rules when every file of the directory is deleted, and says so once', async () => {
    const { dir, watcher, reloads, errors } = await watching({
      'a.yaml': domain('a'),
      'b.yaml': domain('b'),
    });
    try {
      rmSync(join(dir, 'a.yaml'));
      rmSync(join(dir, 'b.yaml'));
      await eventually(
        () => Promise.resolve(errors.length === 1),
        'the emptied directory to be refused',
        2000,
      );
      expect(errors[0]?.file).toBe(dir);
      expect(errors[0]?.reason).toContain('holds no rules files any more');
      await new Promise((resolve) => setTimeout(resolve, SEVERAL_POLLS_MS));
      expect(errors).toHaveLength(1);
      expect(reloads).toEqual([]);
      expect(domains(watcher.current)).toEqual(['a', 'b']);
      // Files that return are loaded again.
      put(dir, 'c.yaml', domain('c'));
      await eventually(() => Promise.resolve(domains(watcher.current).join() === 'c'), 'c to load', 2000);
    } finally {
      watcher.close();
    }
  });

  it('starts on an empty directory (no rules) and loads the files that arrive', async () => {
    const { dir, watcher, errors } = await watching({});
    try {
      expect(domains(watcher.current)).toEqual([]);
      put(dir, 'a.yaml', domain('a'));
      await eventually(() => Promise.resolve(domains(watcher.current).join() === 'a'), 'a to load', 2000);
      expect(errors).toEqual([]);
    } finally {
      watcher.close();
    }
  });
});
