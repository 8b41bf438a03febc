/**
 * The environment knobs of `npm run bench`, read and validated once. A bad value stops the run
 * with the knob's name instead of silently measuring something else.
 */

import { DEFAULT_SECTIONS, SECTION_GROUPS, SECTION_NAMES } from './sections.js';
import type { SectionName } from './sections.js';

export interface Knobs {
  /** Alternating rounds per comparison (A B A B ...). */
  rounds: number;
  /** Length of one subject's turn in a round of the library comparisons, in ms. */
  durationMs: number;
  /** Checks in flight in the library comparisons. */
  inFlight: number;
  /** Concurrency levels of the sweep. */
  sweepLevels: number[];
  /** Closed-loop time per sweep level, in ms. */
  sweepDurationMs: number;
  /** Length of one target's turn in a round of the HTTP comparison, in ms. */
  httpDurationMs: number;
  httpConnections: number;
  sections: SectionName[];
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function integerList(env: Env, name: string, fallback: number[], min: number, max: number): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must list integers from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  });
}

function isSectionName(name: string): name is SectionName {
  return (SECTION_NAMES as readonly string[]).includes(name);
}

/**
 * Sections from BENCH_ONLY (comma-separated) or the command line, a group (`library`) standing for
 * its sections; without either, the default ones (BENCHMARKS.md's main run).
 */
function sections(env: Env, args: readonly string[]): SectionName[] {
  const raw = args.length > 0 ? args.join(',') : (env.BENCH_ONLY ?? '');
  if (raw === '') return [...DEFAULT_SECTIONS];
  return raw.split(',').flatMap((part) => {
    const name = part.trim();
    const group = SECTION_GROUPS[name];
    if (group) return [...group];
    if (!isSectionName(name)) {
      const known = [...SECTION_NAMES, ...Object.keys(SECTION_GROUPS)].join(', ');
      throw new RangeError(`BENCH_ONLY: unknown section ${JSON.stringify(name)} (one of ${known})`);
    }
    return [name];
  });
}

/** Knobs from the environment; section names on the command line take the place of BENCH_ONLY. */
export function readKnobs(args: readonly string[] = [], env: Env = process.env): Knobs {
  return {
    rounds: integer(env, 'BENCH_ROUNDS', 7, 1, 100),
    durationMs: integer(env, 'BENCH_DURATION_MS', 1000, 50, 60_000),
    inFlight: integer(env, 'BENCH_IN_FLIGHT', 200, 1, 10_000),
    sweepLevels: integerList(env, 'BENCH_SWEEP', [50, 200, 1000, 5000, 10_000], 1, 50_000),
    sweepDurationMs: integer(env, 'BENCH_SWEEP_DURATION_MS', 2000, 50, 60_000),
    httpDurationMs: integer(env, 'BENCH_HTTP_DURATION_MS', 2000, 1000, 60_000),
    httpConnections: integer(env, 'BENCH_HTTP_CONNECTIONS', 50, 1, 1000),
    sections: sections(env, args),
  };
}
