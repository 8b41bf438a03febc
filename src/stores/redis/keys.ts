import { algorithmFor } from '../../core/algorithms/index.js';
import type { CounterRef } from '../../core/types.js';

export const DEFAULT_KEY_PREFIX = 'ratelimit:';

const NEEDS_ESCAPE = /[%}]/;

/**
 * A key as it stands inside the hash tag. A `}` would end the tag early (and a leading one would
 * empty it, scattering one key's counters over slots), so `%` and `}` are percent-encoded: the
 * tag is always the whole key and distinct keys stay distinct.
 */
export function hashTagOf(key: string): string {
  if (!NEEDS_ESCAPE.test(key)) return key;
  return key.replaceAll('%', '%25').replaceAll('}', '%7D');
}

/**
 * `<prefix>{<key>}:<algorithm and layout version>:<window ms>`, as `ratelimit:{user:42}:swl2:60000`.
 * The braces are the Cluster hash tag, so every counter of one key lives in one slot and one
 * script may touch them all.
 */
export function counterKey(prefix: string, counter: CounterRef): string {
  return `${prefix}{${hashTagOf(counter.key)}${counterSuffix(counter.algorithm, counter.windowMs)}`;
}

/** What follows the hash tag in a counter's key: `}:<key segment>:<window ms>`. */
export function counterSuffix(algorithm: CounterRef['algorithm'], windowMs: number): string {
  return `}:${algorithmFor(algorithm).keySegment}:${windowMs}`;
}

export function validateKeyPrefix(prefix: string): string {
  if (/[{}]/.test(prefix))
    throw new RangeError('key prefix must not contain "{" or "}": they mark the hash tag');
  if (Buffer.byteLength(prefix) > 128) throw new RangeError('key prefix must be at most 128 bytes');
  return prefix;
}

/**
 * The two keys of one key's leases, `<prefix>{<key>}:lease` (a sorted set by expiry) and
 * `<prefix>{<key>}:lease-units` (their units): in the slot of the key's counters.
 */
export function leaseKeys(prefix: string, key: string): [set: string, ledger: string] {
  const tagged = `${prefix}{${hashTagOf(key)}}:lease`;
  return [tagged, `${tagged}-units`];
}
