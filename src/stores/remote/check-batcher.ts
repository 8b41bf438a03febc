import { algorithmFor } from '../../core/algorithms/index.js';
import type { Check, Outcome } from '../../core/types.js';

/** Most checks in one POST /v1/checks (the service's MAX_BATCH_CHECKS). */
export const MAX_CHECKS_PER_CALL = 100;
/** Body bytes per call, under the service's 64 KiB body limit with room for the envelope. */
const MAX_BODY_BYTES = 60_000;
/** A check's JSON beside its key: the other fields and their names. */
const CHECK_OVERHEAD_BYTES = 120;

function bodyBytes(check: Check): number {
  // JSON escaping can make a key longer than its UTF-8 bytes (a control character takes 6).
  return Buffer.byteLength(JSON.stringify(check.key)) + CHECK_OVERHEAD_BYTES;
}

interface Pending {
  check: Check;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Split checks into calls the service accepts: at most 100 each, a body under its size limit, and
 * per algorithm a cost sum within that algorithm's maxCost (the service refuses a batch that spends
 * more than one check may).
 */
export function chunkChecks<T extends { check: Check }>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let costs = new Map<string, number>();
  let bytes = 0;
  for (const item of items) {
    const { algorithm, cost } = item.check;
    const total = (costs.get(algorithm) ?? 0) + cost;
    const size = bodyBytes(item.check);
    const full =
      chunk.length >= MAX_CHECKS_PER_CALL ||
      total > algorithmFor(algorithm).maxCost ||
      bytes + size > MAX_BODY_BYTES;
    if (full && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
      costs = new Map();
      bytes = 0;
    }
    chunk.push(item);
    costs.set(algorithm, (costs.get(algorithm) ?? 0) + cost);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Coalesces the checks made in one turn of the event loop into `POST /v1/checks` calls: under
 * concurrency, many requests' checks share one round trip. Independent checks only (each is
 * decided on its own), so one denial never affects another.
 */
export class CheckBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly send: (checks: readonly Check[]) => Promise<Outcome[]>) {}

  check(check: Check): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.queue.push({ check, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const pending = this.queue;
    this.queue = [];
    this.scheduled = false;
    for (const chunk of chunkChecks(pending)) {
      this.send(chunk.map(({ check }) => check)).then(
        (outcomes) => {
          chunk.forEach(({ resolve, reject }, index) => {
            const outcome = outcomes[index];
            if (outcome) resolve(outcome);
            else reject(new Error(`the service returned no outcome for check ${index}`));
          });
        },
        (error: unknown) => {
          for (const { reject } of chunk) reject(error);
        },
      );
    }
  }
}
