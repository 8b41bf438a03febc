import { algorithmFor } from '../../core/algorithms/index.js';
import type { Check, Outcome } from '../../core/types.js';

/** Most checks in one POST /v1/checks (the service's MAX_BATCH_CHECKS). */
export const MAX_CHECKS_PER_CALL = 100;

interface Pending {
  check: Check;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Split checks into calls the service accepts: at most 100 each, and per algorithm a cost sum
 * within that algorithm's maxCost (the service refuses a batch that spends more than one check may).
 */
export function chunkChecks<T extends { check: Check }>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let costs = new Map<string, number>();
  for (const item of items) {
    const { algorithm, cost } = item.check;
    const total = (costs.get(algorithm) ?? 0) + cost;
    if (chunk.length >= MAX_CHECKS_PER_CALL || total > algorithmFor(algorithm).maxCost) {
      chunks.push(chunk);
      chunk = [];
      costs = new Map();
    }
    chunk.push(item);
    costs.set(algorithm, (costs.get(algorithm) ?? 0) + cost);
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
