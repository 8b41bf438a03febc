import type { Check, Outcome } from '../../core/types.js';

/**
 * Independent checks on a Cluster, where one pipeline cannot span nodes. Checks of different keys
 * run in parallel; checks of one key run one after another in batch order, because parallel calls
 * can overtake each other when one of them is redirected (MOVED/ASK/TRYAGAIN) and a batch promises
 * the order it was given in.
 */
export async function checkEachKeyInOrder(
  checks: readonly Check[],
  checkOne: (check: Check) => Promise<Outcome>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const lastOfKey = new Map<string, Promise<void>>();
  const runs = checks.map((check, index) => {
    const run = (lastOfKey.get(check.key) ?? Promise.resolve()).then(async () => {
      outcomes[index] = await checkOne(check);
    });
    lastOfKey.set(check.key, run);
    return run;
  });
  await Promise.all(runs);
  return outcomes;
}
