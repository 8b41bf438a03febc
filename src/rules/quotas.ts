import type { Node } from 'yaml';
import { isMap } from 'yaml';
import type { Pair, YAMLMap } from 'yaml';
import { MAX_WINDOW_MS } from '../core/duration.js';
import { MAX_UNITS } from '../core/validate.js';
import { RULE_UNITS, UNIT_SECONDS } from './types.js';
import type { RuleUnit } from './types.js';

/**
 * RLQS quotas of a domain (`quotas:` in a rules file): one global limit per bucket, split among the
 * proxies that report it. A `"*"` value stands for each distinct value, each with its own quota.
 */
export interface QuotaRule {
  /** The entry's bucket: key → value, or `"*"` for any value. */
  bucket: ReadonlyMap<string, string>;
  /** How many of its values are `"*"`: the entry with the fewest wins. */
  wildcards: number;
  requestsPerUnit: number;
  unit: RuleUnit;
  unitMultiplier: number;
  /** The unit in whole seconds (unit x unit_multiplier). */
  unitSeconds: number;
  /** The entry as metrics and GET /v1/quotas name it: `name`, else its bucket as written. */
  name: string;
  file: string;
  line: number;
}

/** What the rules parser lends the quota parser: its YAML helpers, which refuse with file:line:reason. */
export interface NodeReader {
  resolve(node: Node): Node;
  isNull(node: Node): boolean;
  asMap(node: Node, what: string): YAMLMap;
  fields(map: YAMLMap, allowed: ReadonlySet<string>): Map<string, Node>;
  text(node: Node | undefined, field: string): string | undefined;
  integer(node: Node | undefined, field: string, min: number, max: number, fallback: number): number;
  lineOf(node: Node | null | undefined): number;
  error(node: Node | null | undefined, reason: string): Error;
}

export const ANY_VALUE = '*';
const QUOTA_KEYS = new Set(['bucket', 'requests_per_unit', 'unit', 'unit_multiplier', 'name']);
/** A bucket id is a handful of keys; more is a mistake, and bounds the matching work. */
export const MAX_BUCKET_KEYS = 32;

/** The `quotas` list of a file, validated; an empty list when there is none. */
export function parseQuotas(reader: NodeReader, file: string, node: Node | undefined): QuotaRule[] {
  if (node === undefined || reader.isNull(node)) return [];
  const seq = reader.resolve(node);
  if (!('items' in seq) || isMap(seq) || !Array.isArray(seq.items)) {
    throw reader.error(node, 'quotas must be a list of {bucket, requests_per_unit, unit}');
  }
  const quotas: QuotaRule[] = [];
  const seen = new Map<string, number>();
  for (const item of seq.items as Node[]) {
    const quota = parseQuota(reader, file, item);
    const identity = bucketIdentity(quota.bucket);
    const first = seen.get(identity);
    if (first !== undefined) {
      throw reader.error(
        item,
        `duplicate quota bucket (the same keys and values as the entry at line ${first})`,
      );
    }
    seen.set(identity, quota.line);
    quotas.push(quota);
  }
  return quotas;
}

function parseQuota(reader: NodeReader, file: string, item: Node): QuotaRule {
  const fields = reader.fields(reader.asMap(item, 'a quotas entry'), QUOTA_KEYS);
  const bucketNode = fields.get('bucket');
  if (bucketNode === undefined || reader.isNull(bucketNode)) {
    throw reader.error(item, 'a quotas entry needs a bucket: a map of bucket id keys to values or "*"');
  }
  const bucket = new Map<string, string>();
  const bucketMap = reader.asMap(bucketNode, 'bucket');
  for (const pair of bucketMap.items as Pair<Node, Node | null>[]) {
    const key = reader.text(pair.key, 'a bucket key') ?? '';
    if (key === '') throw reader.error(pair.key, 'a bucket key must not be empty');
    const value = pair.value === null ? '' : (reader.text(pair.value, `bucket.${key}`) ?? '');
    if (value === '')
      throw reader.error(pair.value ?? pair.key, `bucket.${key} must not be empty (use "*" for any value)`);
    if (value !== ANY_VALUE && value.includes(ANY_VALUE)) {
      throw reader.error(pair.value, `bucket.${key}: only "*" on its own is a wildcard`);
    }
    bucket.set(key, value);
  }
  if (bucket.size === 0) throw reader.error(bucketNode, 'bucket must have at least one key');
  if (bucket.size > MAX_BUCKET_KEYS)
    throw reader.error(bucketNode, `bucket must have at most ${MAX_BUCKET_KEYS} keys`);
  const unitText = reader.text(fields.get('unit'), 'unit') ?? '';
  const unit = RULE_UNITS.find((candidate) => candidate === unitText.toLowerCase());
  if (unit === undefined)
    throw reader.error(fields.get('unit') ?? item, `invalid rate limit unit '${unitText}'`);
  const requestsPerUnitNode = fields.get('requests_per_unit');
  if (requestsPerUnitNode === undefined) throw reader.error(item, 'a quotas entry needs requests_per_unit');
  const requestsPerUnit = reader.integer(requestsPerUnitNode, 'requests_per_unit', 0, MAX_UNITS, 0);
  const unitMultiplier = reader.integer(
    fields.get('unit_multiplier'),
    'unit_multiplier',
    1,
    Number.MAX_SAFE_INTEGER,
    1,
  );
  const unitSeconds = UNIT_SECONDS[unit] * unitMultiplier;
  if (unitSeconds * 1000 > MAX_WINDOW_MS) {
    throw reader.error(
      fields.get('unit_multiplier') ?? item,
      `the unit (${unitMultiplier} x ${unit}) must be at most 366 days`,
    );
  }
  const wildcards = [...bucket.values()].filter((value) => value === ANY_VALUE).length;
  const name = reader.text(fields.get('name'), 'name') ?? describeBucket(bucket);
  return {
    bucket,
    wildcards,
    requestsPerUnit,
    unit,
    unitMultiplier,
    unitSeconds,
    name,
    file,
    line: reader.lineOf(item),
  };
}

/** Keys in order, so that `{a, b}` and `{b, a}` are one bucket (BucketId keys have no order). */
export function bucketIdentity(bucket: ReadonlyMap<string, string>): string {
  return JSON.stringify([...bucket].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `{api=*, tenant=acme}`: a bucket as an operator reads it. */
export function describeBucket(bucket: ReadonlyMap<string, string>): string {
  const sorted = [...bucket].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${sorted.map(([key, value]) => `${key}=${value}`).join(', ')}}`;
}

/**
 * The quota a bucket id falls under: an entry with exactly its keys whose every value is equal or
 * `"*"`; of several, the one with the fewest `"*"`, then the first in the file.
 */
export function matchQuota(
  quotas: readonly QuotaRule[],
  bucketId: ReadonlyMap<string, string>,
): QuotaRule | undefined {
  let best: QuotaRule | undefined;
  for (const quota of quotas) {
    if (quota.bucket.size !== bucketId.size) continue;
    if (best !== undefined && quota.wildcards >= best.wildcards) continue;
    let matches = true;
    for (const [key, value] of quota.bucket) {
      const actual = bucketId.get(key);
      if (actual === undefined || (value !== ANY_VALUE && value !== actual)) {
        matches = false;
        break;
      }
    }
    if (matches) best = quota;
  }
  return best;
}
