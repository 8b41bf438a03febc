import { ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithmFor, isAlgorithmName } from './algorithms/index.js';
import type { AlgorithmName } from './algorithms/index.js';
import { parseWindow } from './duration.js';
import { InvalidArgumentError } from './errors.js';
import type { Check, CheckRequest, CounterRef, PeekRequest, ResetRequest } from './types.js';

export const MAX_KEY_BYTES = 512;

export function validateKey(value: unknown, field = 'key'): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `${field} must be a string`);
  if (value.length === 0) throw new InvalidArgumentError(field, `${field} must not be empty`);
  // A lone surrogate would encode to U+FFFD and silently share a counter with another key.
  if (!value.isWellFormed()) throw new InvalidArgumentError(field, `${field} must be valid UTF-8 text`);
  if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) {
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

function validateCount(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(field, `${field} must be an integer >= 0`);
  }
  if (value > max) throw new InvalidArgumentError(field, `${field} must be <= ${max}`);
  return value;
}

export function validateLimit(value: unknown, algorithm: AlgorithmName, field = 'limit'): number {
  const { maxLimit, name } = algorithmFor(algorithm);
  if (typeof value === 'number' && Number.isInteger(value) && value > maxLimit) {
    throw new InvalidArgumentError(field, `${field} must be <= ${maxLimit} for ${name}`);
  }
  return validateCount(value, field, maxLimit);
}

export function validateCheck(request: CheckRequest): Check {
  if (!isObject(request)) {
    throw new InvalidArgumentError('check', 'a check must be an object');
  }
  const algorithm = validateAlgorithm(request.algorithm);
  const key = validateKey(request.key);
  const limit = validateLimit(request.limit, algorithm);
  const windowMs = parseWindow(request.window);
  const { maxCost, name } = algorithmFor(algorithm);
  if (typeof request.cost === 'number' && Number.isInteger(request.cost) && request.cost > maxCost) {
    throw new InvalidArgumentError('cost', `cost must be <= ${maxCost} for ${name}`);
  }
  const cost = request.cost === undefined ? 1 : validateCount(request.cost, 'cost', maxCost);
  if (cost > limit) {
    throw new InvalidArgumentError(
      'cost',
      `cost (${cost}) must not exceed limit (${limit}): it could never be admitted`,
    );
  }
  return { key, limit, windowMs, cost, algorithm };
}

export function validatePeek(request: PeekRequest): Check {
  return validateCheck({ ...request, cost: 0 });
}

export function validateCounterRef(request: ResetRequest): CounterRef {
  if (!isObject(request)) {
    throw new InvalidArgumentError('counter', 'a counter must be an object');
  }
  return {
    key: validateKey(request.key),
    windowMs: parseWindow(request.window),
    algorithm: validateAlgorithm(request.algorithm),
  };
}

/** JavaScript callers can pass anything, whatever the types say. */
function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/**
 * A batch may not spend more in one request than one check may: the sum of its costs per
 * algorithm is held to that algorithm's maxCost.
 */
export function validateBatchCost(checks: readonly Check[], field = 'checks'): void {
  const totals = new Map<string, number>();
  for (const check of checks) {
    const total = (totals.get(check.algorithm) ?? 0) + check.cost;
    totals.set(check.algorithm, total);
    const { maxCost } = algorithmFor(check.algorithm);
    if (total > maxCost) {
      throw new InvalidArgumentError(
        field,
        `the costs of the ${check.algorithm} checks of one batch must add up to at most ${maxCost}`,
      );
    }
  }
}
