import type { ManualClock, RateLimiter, Clock, Store } from '../../src/index.js';

/** How a store under test is made: with an injected clock, or with its own time source when none is given. */
export interface StoreFactory {
  create(clock?: Clock): Promise<Store> | Store;
  /** Forget every counter the file's store holds (its server's data), before each test. */
  reset?(): Promise<void>;
  teardown?(): Promise<void>;
}

/** Where each test's manual clock starts. */
export const CLOCK_START_US = 1_700_000_000_000_000;

/**
 * What each conformance test sees: the file's limiter over the file's one store, emptied before
 * the test (`reset`), and its manual clock set back to CLOCK_START_US.
 */
export interface Conformance {
  readonly limiter: RateLimiter;
  readonly clock: ManualClock;
  readonly factory: StoreFactory;
  /** Stores a test opens itself, closed after the suite. */
  readonly opened: Store[];
}

let keySerial = 0;

/** A key no other test has used, so tests never share counters. */
export function freshKey(label: string): string {
  keySerial += 1;
  return `conformance:${label}:${process.pid}:${Date.now()}:${keySerial}`;
}

/** Move the manual clock to `offsetMs` after the next multiple of `windowMs` since the epoch. */
export function alignClock(clock: ManualClock, windowMs: number, offsetMs = 0): void {
  const windowUs = windowMs * 1000;
  const nextStart = (Math.floor(clock.nowUs() / windowUs) + 1) * windowUs;
  clock.setUs(nextStart + offsetMs * 1000);
}
