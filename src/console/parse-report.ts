import { CONSOLE_KEY_MODES } from '../protocol/console.js';
import type { WireNodeReport } from '../protocol/console.js';
import { RING_SECONDS } from './decision-ring.js';

/*
 * A peer's report is checked before it is merged: a node of another version, or anything else
 * answering at a registered address, must not break the console or smuggle fields into it.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isCounts = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length <= RING_SECONDS && value.every(isCount);
const isText = (value: unknown): value is string => typeof value === 'string';
const isNullableText = (value: unknown): value is string | null => value === null || isText(value);
const isNullableCount = (value: unknown): value is number | null => value === null || isCount(value);

function series(value: unknown): boolean {
  return (
    isObject(value) &&
    isCount(value.endSecond) &&
    isCounts(value.allowed) &&
    isCounts(value.denied) &&
    isCounts(value.degraded)
  );
}

function deniedKeys(value: unknown): boolean {
  return (
    isObject(value) &&
    CONSOLE_KEY_MODES.some((mode) => mode === value.keys) &&
    isCount(value.k) &&
    isCount(value.counted) &&
    isCount(value.maxUndercount) &&
    Array.isArray(value.top) &&
    value.top.length <= 2 * value.k + 1 &&
    value.top.every(
      (key: unknown) =>
        isObject(key) &&
        isText(key.key) &&
        isCount(key.denied) &&
        isText(key.algorithm) &&
        isCount(key.limit) &&
        isCount(key.windowMs),
    )
  );
}

function rules(value: unknown): boolean {
  return (
    isObject(value) &&
    isNullableText(value.path) &&
    Array.isArray(value.domains) &&
    value.domains.every(
      (domain: unknown) => isObject(domain) && isText(domain.domain) && isCount(domain.rules),
    ) &&
    isCount(value.ruleCount) &&
    isNullableText(value.lastLoadAt) &&
    isNullableText(value.lastErrorAt) &&
    (value.lastError === null ||
      (isObject(value.lastError) &&
        isText(value.lastError.file) &&
        isCount(value.lastError.line) &&
        isText(value.lastError.reason)))
  );
}

function store(value: unknown): boolean {
  return (
    isObject(value) &&
    isText(value.kind) &&
    Array.isArray(value.latencyBuckets) &&
    value.latencyBuckets.every(
      (pair: unknown) => Array.isArray(pair) && pair.length === 2 && isCount(pair[0]) && isCount(pair[1]),
    ) &&
    isNullableCount(value.latencyP50Ms) &&
    isNullableCount(value.latencyP99Ms) &&
    isCount(value.calls) &&
    isObject(value.errors) &&
    Object.values(value.errors).every(isCount) &&
    isCount(value.denyCacheHits) &&
    isCount(value.shed) &&
    isCount(value.timeouts)
  );
}

/** The report if `value` has its shape, else undefined. */
export function parseNodeReport(value: unknown): WireNodeReport | undefined {
  if (!isObject(value)) return undefined;
  const valid =
    isText(value.nodeId) &&
    isText(value.version) &&
    isCount(value.at) &&
    series(value.decisions) &&
    deniedKeys(value.deniedKeys) &&
    rules(value.rules) &&
    store(value.store);
  return valid ? copyOf(value as unknown as WireNodeReport) : undefined;
}

/** Only the fields of a report, whatever else the peer sent. */
function copyOf(report: WireNodeReport): WireNodeReport {
  const { decisions, deniedKeys: denied, rules: loaded, store: used } = report;
  return {
    nodeId: report.nodeId,
    version: report.version,
    at: report.at,
    decisions: {
      endSecond: decisions.endSecond,
      allowed: decisions.allowed,
      denied: decisions.denied,
      degraded: decisions.degraded,
    },
    deniedKeys: {
      keys: denied.keys,
      k: denied.k,
      counted: denied.counted,
      maxUndercount: denied.maxUndercount,
      top: denied.top.map(({ key, denied: count, algorithm, limit, windowMs }) => ({
        key,
        denied: count,
        algorithm,
        limit,
        windowMs,
      })),
    },
    rules: {
      path: loaded.path,
      domains: loaded.domains.map(({ domain, rules: count }) => ({ domain, rules: count })),
      ruleCount: loaded.ruleCount,
      lastLoadAt: loaded.lastLoadAt,
      lastErrorAt: loaded.lastErrorAt,
      lastError:
        loaded.lastError === null
          ? null
          : { file: loaded.lastError.file, line: loaded.lastError.line, reason: loaded.lastError.reason },
    },
    store: {
      kind: used.kind,
      latencyBuckets: used.latencyBuckets.map(([bucket, count]) => [bucket, count]),
      latencyP50Ms: used.latencyP50Ms,
      latencyP99Ms: used.latencyP99Ms,
      calls: used.calls,
      errors: { ...used.errors },
      denyCacheHits: used.denyCacheHits,
      shed: used.shed,
      timeouts: used.timeouts,
    },
  };
}
