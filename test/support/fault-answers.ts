import type { ServiceProcess } from '../../support/service-process.js';

/** How one node answered checks during a fault. */
export interface FaultAnswers {
  statuses: number[];
  /** Answers that were 200 with `degraded: true`. */
  degraded: number;
  /** The slowest answer, client side, in ms. */
  slowestMs: number;
}

/**
 * `count` checks on each node, one after another per node (all nodes at once), each on a fresh
 * key unless `keyOf` says otherwise: how each was answered and how long the slowest took.
 */
export async function answersDuringFault(
  nodes: readonly ServiceProcess[],
  count: number,
  keyOf: (node: number, call: number) => string = (node, call) => `fault:${node}:${call}:${Date.now()}`,
): Promise<Map<ServiceProcess, FaultAnswers>> {
  const answers = new Map<ServiceProcess, FaultAnswers>();
  await Promise.all(
    nodes.map(async (node, index) => {
      const result: FaultAnswers = { statuses: [], degraded: 0, slowestMs: 0 };
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        const response = await node.postJson('/v1/check', {
          key: keyOf(index, i),
          limit: 5,
          window: 60,
        });
        const body = (await response.json()) as { degraded?: boolean };
        result.slowestMs = Math.max(result.slowestMs, performance.now() - started);
        result.statuses.push(response.status);
        if (response.status === 200 && body.degraded === true) result.degraded++;
      }
      answers.set(node, result);
    }),
  );
  return answers;
}
