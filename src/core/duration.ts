import { InvalidArgumentError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export const MIN_WINDOW_MS = 1;
export const MAX_WINDOW_MS = 366 * 86_400_000;

/**
 * A window as seconds (number) or a duration string, to whole milliseconds.
 * Anything that is not exactly a whole number of milliseconds in range is refused, never rounded.
 */
export function parseWindow(value: unknown, field = 'window'): number {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new InvalidArgumentError(field, `${field} must be a finite number of seconds`);
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (!match) {
      throw new InvalidArgumentError(
        field,
        `${field} must be seconds or a duration like "500ms", "10s", "1m", "1h", "1d"`,
      );
    }
    ms = Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  } else {
    throw new InvalidArgumentError(field, `${field} must be a number of seconds or a duration string`);
  }
  // Decimal inputs such as 0.1 s give 100.00000000000001 ms; accept what is a whole ms up to float noise.
  const rounded = Math.round(ms);
  if (Math.abs(ms - rounded) > 1e-6) {
    throw new InvalidArgumentError(field, `${field} must be a whole number of milliseconds`);
  }
  return validateWindowMs(rounded, field);
}

/** A window already in milliseconds (a peer library's `windowMs`): whole, within 1 ms .. 366 d. */
export function validateWindowMs(ms: number, field = 'windowMs'): number {
  if (!Number.isInteger(ms)) {
    throw new InvalidArgumentError(field, `${field} must be a whole number of milliseconds`);
  }
  if (ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) {
    throw new InvalidArgumentError(field, `${field} must be between 1ms and 366d`);
  }
  return ms;
}
