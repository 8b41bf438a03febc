/**
 * How far each algorithm strays from the exact sliding window, measured on the pure TypeScript
 * halves (the Lua halves give the same decisions: see the twin property tests). For each traffic
 * shape: the most units admitted in any window-long interval, as a multiple of the limit, and the
 * units admitted overall against the exact log's.
 */
import { ALGORITHM_NAMES } from '../src/index.js';
import type { AlgorithmName } from '../src/index.js';
import { algorithmFor } from '../src/core/algorithms/index.js';

const LIMIT = 100;
const WINDOW_MS = 1000;
const WINDOW_US = WINDOW_MS * 1000;
const WINDOWS = 200;

/** A small deterministic generator, so every run measures the same traffic. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Traffic = () => number[];

const START_US = 1_700_000_000_000_000;

const shapes: Record<string, Traffic> = {
  'steady, 2x the limit (Poisson)': () => {
    const random = mulberry32(42);
    const times: number[] = [];
    let t = START_US;
    const meanGapUs = WINDOW_US / (2 * LIMIT);
    while (t < START_US + WINDOWS * WINDOW_US) {
      t += Math.max(1, Math.round(-Math.log(1 - random()) * meanGapUs));
      times.push(t);
    }
    return times;
  },
  'bursts at the end of each window (adversarial)': () => {
    const times: number[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      // Everything in the last 5% of the window, then hammer the start of the next one.
      const edge = START_US + (w + 1) * WINDOW_US;
      for (let i = 0; i < 2 * LIMIT; i++) times.push(edge - 50_000 + Math.floor((i * 100_000) / (2 * LIMIT)));
    }
    return times;
  },
  'worst case for the counter: a burst at a window end, then steady': () => {
    const times: number[] = [];
    for (let w = 0; w < WINDOWS; w += 2) {
      const edge = START_US + (w + 1) * WINDOW_US;
      for (let i = 0; i < 2 * LIMIT; i++) times.push(edge - 10_000 + Math.floor((i * 10_000) / (2 * LIMIT)));
      for (let i = 0; i < 2 * LIMIT; i++) times.push(edge + Math.floor((i * WINDOW_US) / (2 * LIMIT)));
    }
    return times;
  },
  'on/off: 4x the limit for 10% of each window': () => {
    const times: number[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      const from = START_US + w * WINDOW_US + 300_000;
      for (let i = 0; i < 4 * LIMIT * 0.1 * 10; i++)
        times.push(from + Math.floor((i * 100_000) / (4 * LIMIT)));
    }
    return times;
  },
};

function admittedTimes(name: AlgorithmName, arrivals: number[]): number[] {
  const algorithm = algorithmFor(name);
  let state: unknown;
  const admitted: number[] = [];
  const check = { key: 'k', limit: LIMIT, windowMs: WINDOW_MS, cost: 1, algorithm: name };
  for (const nowUs of arrivals) {
    if (algorithm.evaluate(state, check, nowUs).allowed) {
      state = algorithm.record(state, check, nowUs);
      admitted.push(nowUs);
    }
  }
  return admitted;
}

/** Most admissions in any interval (t - window, t]. */
function maxInAnyWindow(admitted: number[]): number {
  let most = 0;
  let from = 0;
  for (let to = 0; to < admitted.length; to++) {
    while ((admitted[from] ?? 0) <= (admitted[to] ?? 0) - WINDOW_US) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

export function printAccuracy(): void {
  console.log(
    `\nAccuracy against the exact sliding window (limit ${LIMIT} per ${WINDOW_MS} ms, ${WINDOWS} windows)`,
  );
  console.log('| traffic | algorithm | most in any window / limit | admitted vs exact log |');
  console.log('|---|---|---:|---:|');
  for (const [shape, traffic] of Object.entries(shapes)) {
    const arrivals = traffic();
    const exact = admittedTimes('sliding-window-log', arrivals).length;
    for (const name of ALGORITHM_NAMES) {
      const admitted = admittedTimes(name, arrivals);
      const ratio = (maxInAnyWindow(admitted) / LIMIT).toFixed(2);
      console.log(`| ${shape} | ${name} | ${ratio} | ${(admitted.length / exact).toFixed(3)} |`);
    }
  }
}
