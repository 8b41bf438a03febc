/** A source of time in integer microseconds. Injected in tests so both twins see the same events. */
export interface Clock {
  nowUs(): number;
}

/**
 * Process clock: wall-clock origin plus a monotonic offset, so a system clock step backwards
 * cannot reorder the entries of a window within one process.
 */
const ORIGIN_MS = performance.timeOrigin; // a getter: read once, not on every check

export const systemClock: Clock = {
  nowUs: () => Math.floor((ORIGIN_MS + performance.now()) * 1000),
};

/** A clock that moves only when told to; for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private currentUs = 1_700_000_000_000_000) {}

  nowUs(): number {
    return this.currentUs;
  }

  advanceMs(ms: number): void {
    this.currentUs += Math.round(ms * 1000);
  }

  advanceUs(us: number): void {
    this.currentUs += us;
  }

  setUs(us: number): void {
    this.currentUs = us;
  }
}
