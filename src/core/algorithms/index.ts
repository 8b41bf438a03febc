import type { Algorithm } from './algorithm.js';
import { fixedWindow } from './fixed-window.js';
import { slidingWindowCounter } from './sliding-window-counter.js';
import { slidingWindowLog } from './sliding-window-log.js';
import { tokenBucket } from './token-bucket.js';

export type { Algorithm, Evaluation, Tally } from './algorithm.js';
export { outcomeOf } from './algorithm.js';

/** Every algorithm by the name callers use. Adding one here makes it selectable everywhere. */
export const ALGORITHMS = {
  'sliding-window-log': slidingWindowLog,
  'sliding-window-counter': slidingWindowCounter,
  'fixed-window': fixedWindow,
  'token-bucket': tokenBucket,
} as const satisfies Record<string, Algorithm<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each twin has its own state type

export type AlgorithmName = keyof typeof ALGORITHMS;

export const DEFAULT_ALGORITHM: AlgorithmName = 'sliding-window-log';

export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as AlgorithmName[];

export function isAlgorithmName(value: unknown): value is AlgorithmName {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}

/** The algorithm behind a name, with its state type erased: stores keep state opaquely. */
export function algorithmFor(name: AlgorithmName): Algorithm<unknown> {
  return ALGORITHMS[name];
}
