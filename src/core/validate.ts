import { ALGORITHM_NAMES, DEFAULT_ALGORITHM, isAlgorithmName } from './algorithms/index.js';
import type { AlgorithmName } from './algorithms/index.js';
import { parseWindow } from './duration.js';
import { InvalidArgumentError } from './errors.js';
import type { Check, CounterRef, Decision } from './types.js';

/*
 * What callers send, parsed once at the edge into the validated values every layer below takes
 * (`Check`, `CounterRef`). A refusal names the field as the caller wrote it: `cost` for one
 * check, `checks[3].cost` in a batch, whatever prefix the transport gives (`path`).
 */

export const MAX_KEY_BYTES = 512;

/**
 * The largest limit, cost and batch cost of every algorithm: bounds the arithmetic of a counter
 * (units stay exact doubles, and 100 checks of 10^9 stay far below 2^53) and the work of a call.
 */
export const MAX_UNITS = 1_000_000_000;

/** `name` under `path`: `cost`, `checks[3].cost`, `descriptors[2].limit`. */
export function fieldAt(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

export function validateKey(value: unknown, field = 'key'): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `${field} must be a string`);
  if (value.length === 0) throw new InvalidArgumentError(field, `${field} must not be empty`);
  // A lone surrogate would encode to U+FFFD and silently share a counter with another key.
  if (!value.isWellFormed()) throw new InvalidArgumentError(field, `${field} must be valid UTF-8 text`);
  // A UTF-16 code unit is at most 3 bytes of UTF-8: a short key needs no count (a native call).
  if (value.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(field, `${field} must be at most ${MAX_KEY_BYTES} bytes of UTF-8`);
  }
  return value;
}

export function validateAlgorithm(value: unknown, field = 'algorithm'): AlgorithmName {
  if (value === undefined) return DEFAULT_ALGORITHM;
  if (!isAlgorithmName(value)) {
    throw new InvalidArgumentError(field, `${field} must be one of: ${ALGORITHM_NAMES.join(', ')}`);
  }
  return value;
}

/** An integer 0..MAX_UNITS: a limit or a cost. */
export function validateUnits(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(field, `${field} must be an integer >= 0`);
  }
  if (value > MAX_UNITS) throw new InvalidArgumentError(field, `${field} must be <= ${MAX_UNITS}`);
  return value;
}

export function validateLimit(value: unknown, field = 'limit'): number {
  return validateUnits(value, field);
}

/** JavaScript callers can pass anything, whatever the types say. */
export function fieldsOf(value: unknown, path: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const field = path === '' ? what : path;
    throw new InvalidArgumentError(field, `${path === '' ? `a ${what}` : path} must be an object`);
  }
  return value as Record<string, unknown>;
}

/** A check as the caller wrote it (`CheckRequest`, a JSON body, a CLI's flags), parsed once. */
export function parseCheck(request: unknown, path = ''): Check {
  const fields = fieldsOf(request, path, 'check');
  const algorithm = validateAlgorithm(fields.algorithm, fieldAt(path, 'algorithm'));
  const key = validateKey(fields.key, fieldAt(path, 'key'));
  const limit = validateLimit(fields.limit, fieldAt(path, 'limit'));
  const windowMs = parseWindow(fields.window, fieldAt(path, 'window'));
  const costField = fieldAt(path, 'cost');
  const cost = fields.cost === undefined ? 1 : validateUnits(fields.cost, costField);
  if (cost > limit) {
    throw new InvalidArgumentError(
      costField,
      `${costField} (${cost}) must not exceed ${fieldAt(path, 'limit')} (${limit}): it could never be admitted`,
    );
  }
  return { key, limit, windowMs, cost, algorithm };
}

/** A look at a counter: the check of a zero cost (a `cost` given is ignored). */
export function parsePeek(request: unknown, path = ''): Check {
  const fields = fieldsOf(request, path, 'check');
  return parseCheck({ ...fields, cost: 0 }, path);
}

/**
 * Units to give back. A refund returns up to `cost`, so a cost above the limit is clamped to it
 * rather than refused: a limit lowered between reserve and settle is the common case.
 */
export function parseRefund(request: unknown, path = ''): Check {
  const fields = fieldsOf(request, path, 'refund');
  const cost = fields.cost === undefined ? 1 : validateUnits(fields.cost, fieldAt(path, 'cost'));
  const check = parseCheck({ ...fields, cost: 0 }, path);
  return { ...check, cost: Math.min(cost, check.limit) };
}

export function parseCounter(request: unknown, path = ''): CounterRef {
  const fields = fieldsOf(request, path, 'counter');
  return {
    key: validateKey(fields.key, fieldAt(path, 'key')),
    windowMs: parseWindow(fields.window, fieldAt(path, 'window')),
    algorithm: validateAlgorithm(fields.algorithm, fieldAt(path, 'algorithm')),
  };
}

/** A batch of checks: each named by its index (`checks[3].limit`), then the batch's own bounds. */
export function parseChecks(requests: unknown, path = 'checks'): Check[] {
  if (!Array.isArray(requests)) throw new InvalidArgumentError(path, `${path} must be a list`);
  const checks = requests.map((request: unknown, index) => parseCheck(request, `${path}[${index}]`));
  validateBatchCost(checks, path);
  return checks;
}

/**
 * A batch may not spend more in one request than one check may: the sum of its costs per
 * algorithm is held to MAX_UNITS.
 */
export function validateBatchCost(checks: readonly Check[], field = 'checks'): void {
  const totals = new Map<string, number>();
  for (const check of checks) {
    const total = (totals.get(check.algorithm) ?? 0) + check.cost;
    totals.set(check.algorithm, total);
    if (total > MAX_UNITS) {
      throw new InvalidArgumentError(
        field,
        `the costs of the ${check.algorithm} checks of ${field} must add up to at most ${MAX_UNITS}`,
      );
    }
  }
}

/** Two checks of one counter in an atomic batch would each see the other's units as unspent. */
export function assertDistinctCounters(checks: readonly Check[], path = 'checks'): void {
  const seen = new Map<string, number>();
  checks.forEach((check, index) => {
    const id = `${check.algorithm}:${check.windowMs}:${check.key}`;
    const first = seen.get(id);
    if (first !== undefined) {
      throw new InvalidArgumentError(
        `${path}[${index}]`,
        `${path}[${index}] addresses the same counter as ${path}[${first}]; combine their costs into one check`,
      );
    }
    seen.set(id, index);
  });
}

/**
 * The answer to a check whose cost exceeds its limit (a middleware's cost, Envoy's hits_addend, a
 * node's share in the `local` failure mode): denied without asking any store, nothing spent.
 * It could never pass, so there is no time after which it would: retryAfterMs is the window.
 */
export function unaffordable(check: Pick<Check, 'limit' | 'windowMs' | 'algorithm'>): Decision {
  return {
    allowed: false,
    limit: check.limit,
    remaining: 0,
    count: 0,
    retryAfterMs: check.windowMs,
    resetAfterMs: 0,
    windowMs: check.windowMs,
    algorithm: check.algorithm,
  };
}
