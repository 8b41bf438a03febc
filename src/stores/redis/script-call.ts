import { algorithmFor } from '../../core/algorithms/index.js';
import type { Check } from '../../core/types.js';
import { counterSuffix, hashTagOf } from './keys.js';
import type { ScriptArg } from './scripts.js';

/**
 * One EVALSHA as it is sent: how many of its values are keys, then the keys and the arguments in
 * one array (Redis takes them so, one after the other). Built in one pass over the checks, with no
 * array of keys or of arguments on the side, and each counter's `}:<algorithm>:<window>` made once
 * per run of checks that share it.
 */
export interface ScriptCall {
  keyCount: number;
  argv: ScriptArg[];
}

/** What every call starts with: the counter keys of `checks`, then time and grace. */
function callStart(
  keyPrefix: string,
  now: ScriptArg,
  graceMs: number,
  checks: readonly Check[],
): ScriptArg[] {
  const argv: ScriptArg[] = [];
  const open = `${keyPrefix}{`;
  let suffix = '';
  let suffixOf: Check | undefined;
  for (const check of checks) {
    if (suffixOf?.windowMs !== check.windowMs || suffixOf.algorithm !== check.algorithm) {
      suffix = counterSuffix(check.algorithm, check.windowMs);
      suffixOf = check;
    }
    argv.push(open + hashTagOf(check.key) + suffix);
  }
  argv.push(now, graceMs);
  return argv;
}

/**
 * The call of one algorithm's check script: keys, time and grace, then runs of checks that share
 * their numbers (how many, limit, window µs, cost). The checks of one call mostly do, and every
 * argument costs Redis a parse.
 */
export function checkCall(
  keyPrefix: string,
  now: ScriptArg,
  graceMs: number,
  checks: readonly Check[],
): ScriptCall {
  const argv = callStart(keyPrefix, now, graceMs, checks);
  let run = 0;
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i] as Check;
    const next = checks[i + 1];
    run++;
    if (next?.limit === check.limit && next.windowMs === check.windowMs && next.cost === check.cost) continue;
    argv.push(run, check.limit, check.windowMs * 1000, check.cost);
    run = 0;
  }
  return { keyCount: checks.length, argv };
}

/**
 * The call of the scripts that may mix algorithms (check-all, refund): keys, time and grace, then
 * each check on its own, led by its algorithm's short name.
 */
export function mixedCall(
  keyPrefix: string,
  now: ScriptArg,
  graceMs: number,
  checks: readonly Check[],
): ScriptCall {
  const argv = callStart(keyPrefix, now, graceMs, checks);
  for (const check of checks) {
    argv.push(algorithmFor(check.algorithm).shortName, check.limit, check.windowMs * 1000, check.cost);
  }
  return { keyCount: checks.length, argv };
}
