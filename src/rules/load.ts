import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRulesFile } from './parse.js';
import { RulesError } from './types.js';
import type { DomainRules, RuleSet } from './types.js';

/** What a rules path holds right now: each file's name and text, and a fingerprint of them all. */
export interface RulesSnapshot {
  files: { file: string; text: string }[];
  fingerprint: string;
}

export interface LoadedRules {
  rules: RuleSet;
  /** Reference keys in places where they mean nothing (ignored, as the reference service does). */
  warnings: string[];
}

const RULES_FILE = /\.ya?ml$/i;

/** Read a rules file, or every `.yaml`/`.yml` file of a directory (not hidden ones), in name order. */
export async function readRules(path: string): Promise<RulesSnapshot> {
  let names: string[];
  try {
    names = (await stat(path)).isDirectory()
      ? (await readdir(path))
          .filter((name) => RULES_FILE.test(name) && !name.startsWith('.'))
          .sort()
          .map((name) => join(path, name))
      : [path];
  } catch (error) {
    throw new RulesError(path, 1, `cannot read the rules path: ${reasonOf(error)}`);
  }
  const files = await Promise.all(
    names.map(async (file) => {
      try {
        return { file, text: await readFile(file, 'utf8') };
      } catch (error) {
        throw new RulesError(file, 1, `cannot read the file: ${reasonOf(error)}`);
      }
    }),
  );
  const hash = createHash('sha256');
  for (const { file, text } of files) hash.update(`${file}\0${text}\0`);
  return { files, fingerprint: hash.digest('hex') };
}

/** Parse every file of a snapshot into one rule set: one domain per file, no domain twice. */
export function buildRules(snapshot: RulesSnapshot): LoadedRules {
  const domains = new Map<string, DomainRules>();
  const warnings: string[] = [];
  for (const { file, text } of snapshot.files) {
    const parsed = parseRulesFile(file, text);
    const existing = domains.get(parsed.domain);
    if (existing) {
      throw new RulesError(
        file,
        parsed.domainLine,
        `duplicate domain '${parsed.domain}' in config file (also in ${existing.file})`,
      );
    }
    domains.set(parsed.domain, { domain: parsed.domain, file, level: parsed.level, quotas: parsed.quotas });
    warnings.push(...parsed.warnings);
  }
  return { rules: { domains, files: snapshot.files.map(({ file }) => file) }, warnings };
}

/** Read and parse a rules path; a RulesError names the file, the line and the reason. */
export async function loadRules(path: string): Promise<LoadedRules> {
  return buildRules(await readRules(path));
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
