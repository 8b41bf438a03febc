import type { Check } from '../../core/types.js';
import { MAX_BATCH_BODY_BYTES, MAX_BATCH_CHECKS, MAX_UNITS } from '../../protocol/limits.js';

/** A check's JSON beside its key: the other fields and their names. */
const CHECK_OVERHEAD_BYTES = 120;

function bodyBytes(check: Check): number {
  // JSON escaping can make a key longer than its UTF-8 bytes (a control character takes 6).
  return Buffer.byteLength(JSON.stringify(check.key)) + CHECK_OVERHEAD_BYTES;
}

/**
 * Split checks into `POST /v1/checks` calls the service accepts: at most MAX_BATCH_CHECKS each, a
 * body under its size limit, and per algorithm a cost sum within MAX_UNITS (the service refuses a
 * batch that spends more than one check may).
 */
export function chunkChecks(checks: readonly Check[]): Check[][] {
  const chunks: Check[][] = [];
  let chunk: Check[] = [];
  let costs = new Map<string, number>();
  let bytes = 0;
  for (const check of checks) {
    const size = bodyBytes(check);
    const full =
      chunk.length >= MAX_BATCH_CHECKS ||
      (costs.get(check.algorithm) ?? 0) + check.cost > MAX_UNITS ||
      bytes + size > MAX_BATCH_BODY_BYTES;
    if (full && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
      costs = new Map();
      bytes = 0;
    }
    chunk.push(check);
    costs.set(check.algorithm, (costs.get(check.algorithm) ?? 0) + check.cost);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
