import { InvalidArgumentError } from '../core/errors.js';
import { RESPONSE_UNITS, overrideUnit } from '../envoy/units.js';
import type {
  DescriptorStatus,
  RateLimitDescriptor,
  RateLimitRequest,
  RateLimitResponse,
} from '../envoy/types.js';

/*
 * RateLimitRequest / RateLimitResponse in protojson, the JSON mapping of protobuf that the
 * reference service's `/json` speaks: a parser accepts the camelCase name and the proto name of
 * every field, numbers or numeric strings for integers, null for "absent", and refuses unknown
 * fields; a writer uses camelCase, enum names, and leaves out fields at their default value.
 */

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The fields of an object by their camelCase name, refusing names the message does not have. */
function fields(value: unknown, field: string, names: readonly string[]): Map<string, unknown> {
  if (!isObject(value))
    throw new InvalidArgumentError(field || 'body', `${field || 'the body'} must be an object`);
  const byName = new Map<string, unknown>();
  for (const [name, fieldValue] of Object.entries(value)) {
    const camel = name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
    const path = field === '' ? camel : `${field}.${camel}`;
    if (!names.includes(camel)) throw new InvalidArgumentError(path, `${path} is not a known field`);
    if (byName.has(camel)) throw new InvalidArgumentError(path, `${path} is given twice`);
    if (fieldValue !== null) byName.set(camel, fieldValue);
  }
  return byName;
}

function string(value: unknown, field: string): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `${field} must be a string`);
  return value;
}

/** An unsigned integer as protojson writes it: a number, or its decimal text. */
function unsigned(value: unknown, field: string, max: number): number {
  if (value === undefined) return 0;
  const number = typeof value === 'string' && /^\d{1,20}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0) {
    throw new InvalidArgumentError(field, `${field} must be an unsigned integer`);
  }
  if (number > max) throw new InvalidArgumentError(field, `${field} must be at most ${max}`);
  return Math.min(number, Number.MAX_SAFE_INTEGER);
}

function list(value: unknown, field: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `${field} must be a list`);
  return value;
}

const UINT32 = 4_294_967_295;
/** Past 2^53 a uint64 is clamped to it: no limit is that large, so it is over any limit anyway. */
const UINT64 = Number.MAX_VALUE;

function descriptorFromJson(value: unknown, field: string): RateLimitDescriptor {
  const descriptor = fields(value, field, ['entries', 'limit', 'hitsAddend']);
  const entries = list(descriptor.get('entries'), `${field}.entries`).map((entry, index) => {
    const at = `${field}.entries[${index}]`;
    const entryFields = fields(entry, at, ['key', 'value']);
    return {
      key: string(entryFields.get('key'), `${at}.key`),
      value: string(entryFields.get('value'), `${at}.value`),
    };
  });
  const limitValue = descriptor.get('limit');
  let limit;
  if (limitValue !== undefined) {
    const limitFields = fields(limitValue, `${field}.limit`, ['requestsPerUnit', 'unit']);
    const unitField = `${field}.limit.unit`;
    const unitValue = limitFields.get('unit');
    if (unitValue !== undefined && typeof unitValue !== 'string' && typeof unitValue !== 'number') {
      throw new InvalidArgumentError(unitField, `${unitField} must be a unit name`);
    }
    limit = {
      requestsPerUnit: unsigned(limitFields.get('requestsPerUnit'), `${field}.limit.requestsPerUnit`, UINT32),
      unit: overrideUnit(unitValue, unitField),
    };
  }
  const hits = descriptor.get('hitsAddend');
  return {
    entries,
    limit,
    hitsAddend: hits === undefined ? undefined : unsigned(hits, `${field}.hitsAddend`, UINT64),
  };
}

export function requestFromJson(body: unknown): RateLimitRequest {
  const request = fields(body, '', ['domain', 'descriptors', 'hitsAddend']);
  return {
    domain: string(request.get('domain'), 'domain'),
    descriptors: list(request.get('descriptors'), 'descriptors').map((each, index) =>
      descriptorFromJson(each, `descriptors[${index}]`),
    ),
    hitsAddend: unsigned(request.get('hitsAddend'), 'hitsAddend', UINT32),
  };
}

/** google.protobuf.Duration in protojson: seconds with 0, 3, 6 or 9 fractional digits, then `s`. */
export function durationToJson(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  const fraction = whole % 1000;
  return fraction === 0
    ? `${Math.floor(whole / 1000)}s`
    : `${Math.floor(whole / 1000)}.${String(fraction).padStart(3, '0')}s`;
}

function statusToJson(status: DescriptorStatus): JsonObject {
  const json: JsonObject = { code: status.code };
  if (status.currentLimit) {
    const { name, requestsPerUnit, unit } = status.currentLimit;
    json.currentLimit = {
      ...(name === undefined || name === '' ? {} : { name }),
      ...(requestsPerUnit === 0 ? {} : { requestsPerUnit }),
      unit: RESPONSE_UNITS[unit],
    };
  }
  if (status.limitRemaining !== 0) json.limitRemaining = status.limitRemaining;
  if (status.durationUntilResetMs !== undefined)
    json.durationUntilReset = durationToJson(status.durationUntilResetMs);
  return json;
}

export function responseToJson(response: RateLimitResponse): JsonObject {
  const json: JsonObject = {
    overallCode: response.overallCode,
    statuses: response.statuses.map(statusToJson),
  };
  if (response.responseHeadersToAdd.length > 0) {
    json.responseHeadersToAdd = response.responseHeadersToAdd.map(({ key, value }) => ({ key, value }));
  }
  return json;
}
