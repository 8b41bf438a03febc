import { InvalidArgumentError } from '../core/errors.js';
import type { RuleUnit } from '../rules/types.js';

/*
 * Envoy's unit enums by name, shared by the gRPC and JSON codecs. A request's override uses
 * envoy.type.v3.RateLimitUnit (no WEEK there); a response uses RateLimitResponse.RateLimit.Unit,
 * where WEEK is 7, so 7 (or WEEK) is read as a week too.
 */
const REQUEST_UNITS: Record<string, RuleUnit> = {
  SECOND: 'second',
  MINUTE: 'minute',
  HOUR: 'hour',
  DAY: 'day',
  MONTH: 'month',
  YEAR: 'year',
  WEEK: 'week',
  '1': 'second',
  '2': 'minute',
  '3': 'hour',
  '4': 'day',
  '5': 'month',
  '6': 'year',
  '7': 'week',
};

export const RESPONSE_UNITS: Record<RuleUnit, string> = {
  second: 'SECOND',
  minute: 'MINUTE',
  hour: 'HOUR',
  day: 'DAY',
  week: 'WEEK',
  month: 'MONTH',
  year: 'YEAR',
};

/** RateLimitResponse.RateLimit.Unit's numbers, for the gRPC codec. */
export const RESPONSE_UNIT_NUMBERS: Record<RuleUnit, number> = {
  second: 1,
  minute: 2,
  hour: 3,
  day: 4,
  month: 5,
  year: 6,
  week: 7,
};

/** An override's unit, by enum name or number; UNKNOWN (0) or anything else is refused. */
export function overrideUnit(unit: string | number | undefined, field: string): RuleUnit {
  const known = REQUEST_UNITS[String(unit ?? 'UNKNOWN')];
  if (known === undefined) {
    throw new InvalidArgumentError(
      field,
      `${field} must be one of: SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR`,
    );
  }
  return known;
}
