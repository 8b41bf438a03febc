import { InvalidArgumentError } from '../core/errors.js';
import { MAX_UNITS } from '../core/validate.js';
import { RULE_UNITS } from '../rules/types.js';
import { MAX_DESCRIPTORS, MAX_DOMAIN_BYTES, MAX_ENTRIES, MAX_ENTRY_BYTES } from './types.js';
import type { RateLimitDescriptor, RateLimitRequest } from './types.js';

/*
 * The meaning of a request, checked once for every transport (their decoders check the shape).
 * Field names are the protojson ones (camelCase), which is how the JSON routes' callers write them.
 */

function text(value: unknown, field: string, maxBytes: number, mayBeEmpty: boolean): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `${field} must be a string`);
  if (!mayBeEmpty && value === '') throw new InvalidArgumentError(field, `${field} must not be empty`);
  if (!value.isWellFormed()) throw new InvalidArgumentError(field, `${field} must be valid UTF-8 text`);
  if (Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw new InvalidArgumentError(field, `${field} must be at most ${maxBytes} bytes of UTF-8`);
  }
  return value;
}

function count(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(field, `${field} must be an integer >= 0`);
  }
  return value;
}

function descriptor(value: RateLimitDescriptor, field: string): RateLimitDescriptor {
  if (typeof value !== 'object' || (value as unknown) === null) {
    throw new InvalidArgumentError(field, `${field} must be an object`);
  }
  const entries: unknown = value.entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidArgumentError(`${field}.entries`, `${field}.entries must hold at least one entry`);
  }
  if (entries.length > MAX_ENTRIES) {
    throw new InvalidArgumentError(
      `${field}.entries`,
      `${field}.entries must hold at most ${MAX_ENTRIES} entries`,
    );
  }
  const checked = entries.map((entry: unknown, index) => {
    const at = `${field}.entries[${index}]`;
    if (typeof entry !== 'object' || entry === null)
      throw new InvalidArgumentError(at, `${at} must be an object`);
    const { key, value: entryValue } = entry as { key?: unknown; value?: unknown };
    return {
      key: text(key, `${at}.key`, MAX_ENTRY_BYTES, false),
      value: text(entryValue ?? '', `${at}.value`, MAX_ENTRY_BYTES, true),
    };
  });
  let limit = value.limit;
  if (limit !== undefined) {
    const requestsPerUnit = count(limit.requestsPerUnit, `${field}.limit.requestsPerUnit`) ?? 0;
    if (requestsPerUnit > MAX_UNITS) {
      throw new InvalidArgumentError(
        `${field}.limit.requestsPerUnit`,
        `${field}.limit.requestsPerUnit must be <= ${MAX_UNITS}`,
      );
    }
    if (!RULE_UNITS.includes(limit.unit)) {
      throw new InvalidArgumentError(
        `${field}.limit.unit`,
        `${field}.limit.unit must be one of: ${RULE_UNITS.join(', ')}`,
      );
    }
    limit = { requestsPerUnit, unit: limit.unit };
  }
  return { entries: checked, limit, hitsAddend: count(value.hitsAddend, `${field}.hitsAddend`) };
}

/** A request whose every field means something; InvalidArgumentError names the first that does not. */
export function validateRateLimitRequest(request: RateLimitRequest): RateLimitRequest {
  if (typeof request !== 'object' || (request as unknown) === null) {
    throw new InvalidArgumentError('request', 'the request must be an object');
  }
  const domain = text(request.domain, 'domain', MAX_DOMAIN_BYTES, false);
  const descriptors: unknown = request.descriptors;
  if (!Array.isArray(descriptors) || descriptors.length === 0) {
    throw new InvalidArgumentError('descriptors', 'rate limit descriptor list must not be empty');
  }
  if (descriptors.length > MAX_DESCRIPTORS) {
    throw new InvalidArgumentError(
      'descriptors',
      `descriptors must hold at most ${MAX_DESCRIPTORS} descriptors`,
    );
  }
  return {
    domain,
    descriptors: (descriptors as RateLimitDescriptor[]).map((each, index) =>
      descriptor(each, `descriptors[${index}]`),
    ),
    hitsAddend: count(request.hitsAddend, 'hitsAddend'),
  };
}
