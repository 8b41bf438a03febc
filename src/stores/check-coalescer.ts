import { OverloadedError, StoreUnavailableError, asError } from '../core/errors.js';
import type { Check, Outcome } from '../core/types.js';

/** How much a store hands its remote (Redis, a service) at once, and how much it keeps waiting. */
export interface CoalescerLimits {
  /** Most checks in one call: bounds how long one call holds the remote. */
  maxBatch: number;
  /** Most calls awaiting their reply at once. */
  maxInFlight: number;
  /** Most calls in flight at which a call that is not full is still sent; past it, checks wait to fill it. */
  maxPartialInFlight: number;
  /** Most checks waiting for a place; past it new checks are refused with OverloadedError. */
  maxQueued: number;
  /** Longest a check may wait for a place before it is refused with OverloadedError (ms). */
  queueTimeoutMs: number;
}

export const DEFAULT_COALESCER_LIMITS: CoalescerLimits = {
  maxBatch: 100,
  maxInFlight: 8,
  maxPartialInFlight: 2,
  maxQueued: 50_000,
  queueTimeoutMs: 1000,
};

/** What a caller makes of an item's answer (or of its failure): OutcomeSink for checks. */
export interface AnswerSink<Item, Answer, T> {
  answered(item: Item, answer: Answer): T;
  failed(item: Item, error: unknown): T | Promise<T>;
}

interface Waiting<Item, Answer> {
  check: Item;
  queuedAt: number;
  sink: AnswerSink<Item, Answer, unknown>;
  /** The caller's promise, settled with what the sink made of the outcome (or of the failure). */
  resolve: (answer: unknown) => void;
}

/** The outcome itself, for callers that take outcomes (Store.check). */
const OUTCOMES: AnswerSink<Check, Outcome, Outcome> = {
  answered: (_check, outcome) => outcome,
  failed: (_check, error) => Promise.reject(asError(error)),
};

export interface CoalescerHooks<Item = Check, Answer = Outcome> {
  /** What the checks wait for, in refusals: "redis", "the service". */
  remote: string;
  /** What is coalesced, in refusals: "check" unless told. */
  noun?: string;
  /** Which checks may share one call: on Redis the same algorithm, and on a Cluster the same slot. */
  groupOf(check: Item): string;
  /** Run one call for checks of one group, answering one outcome per check, in order. */
  send(checks: readonly Item[]): Promise<Answer[]>;
  /** Whether the remote itself was slow of late, so a full queue is its failure and not load. */
  storeIsSlow(): boolean;
}

/** A check that will not be decided: its caller gets what the sink answers instead. */
function fail<Item, Answer>(waiting: Waiting<Item, Answer>, error: unknown): void {
  try {
    waiting.resolve(waiting.sink.failed(waiting.check, error));
  } catch (thrown) {
    waiting.resolve(Promise.reject(asError(thrown)));
  }
}

/**
 * Coalesces the checks issued in the same turn of the event loop, and those that arrive while
 * earlier calls are out, into calls of up to `maxBatch` checks (each check keeps its own decision
 * and atomicity: a script runs them one after another, the service's `/v1/checks` decides each on
 * its own), keeps at most `maxInFlight` calls waiting on the remote, and queues the rest with a
 * bounded length and wait. Without this, a burst of thousands of checks would be written to the
 * socket at once and answered after every caller's deadline; with it, what waits, waits here,
 * where it is measured and refused as `overloaded` rather than mistaken for a store failure.
 * RedisStore and ServiceStore share it for checks; RedisStore's lease calls go through one too
 * (an item is then one acquire, release or renew, and the answer its script's reply).
 */
export class Coalescer<Item, Answer> {
  private readonly groups = new Map<string, Waiting<Item, Answer>[]>();
  private queued = 0;
  private inFlight = 0;
  private flushScheduled = false;
  private shed = 0;

  constructor(
    private readonly limits: CoalescerLimits,
    private readonly hooks: CoalescerHooks<Item, Answer>,
  ) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1`);
    }
  }

  /** The check's outcome made into the caller's answer by `sink`: one promise per check in all. */
  submitInto<T>(check: Item, sink: AnswerSink<Item, Answer, T>): Promise<T> {
    if (this.queued >= this.limits.maxQueued) {
      const refusal = this.refusal(
        `more than ${this.limits.maxQueued} ${this.noun}s are waiting for ${this.hooks.remote}`,
      );
      return Promise.resolve(sink.failed(check, refusal));
    }
    return new Promise<T>((resolve) => {
      const group = this.hooks.groupOf(check);
      const waiting: Waiting<Item, Answer> = {
        check,
        queuedAt: performance.now(),
        sink,
        resolve: resolve as (answer: unknown) => void,
      };
      let queue = this.groups.get(group);
      if (queue) queue.push(waiting);
      else this.groups.set(group, (queue = [waiting]));
      this.queued++;
      // A full call need not wait for the end of the turn: it goes out now, while there is room.
      if (queue.length >= this.limits.maxBatch && this.inFlight < this.limits.maxInFlight) {
        const batch = this.takeBatch(waiting.queuedAt, group, queue);
        if (batch.length > 0) this.dispatch(batch);
      } else this.scheduleFlush();
    });
  }

  stats(): { queued: number; inFlight: number; shed: number } {
    return { queued: this.queued, inFlight: this.inFlight, shed: this.shed };
  }

  private get noun(): string {
    return this.hooks.noun ?? 'check';
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn's I/O callbacks: every check they issue joins the same calls.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const now = performance.now();
    while (this.inFlight < this.limits.maxInFlight && this.queued > 0) {
      // Under light load, checks wait for a call to come back rather than go out a few at a time:
      // the next call then carries all of them (each call costs Redis and this process a round trip).
      const next = this.groups.values().next().value?.length ?? 0;
      if (this.inFlight >= this.limits.maxPartialInFlight && next < this.limits.maxBatch) break;
      const batch = this.takeOldestBatch(now);
      if (batch.length > 0) this.dispatch(batch);
    }
  }

  /** Up to maxBatch checks of the oldest group; checks that waited too long are refused instead. */
  private takeOldestBatch(now: number): Waiting<Item, Answer>[] {
    const [group, queue] = this.groups.entries().next().value as [string, Waiting<Item, Answer>[]];
    return this.takeBatch(now, group, queue);
  }

  /** Up to maxBatch checks of `group`; checks that waited too long are refused instead. */
  private takeBatch(now: number, group: string, queue: Waiting<Item, Answer>[]): Waiting<Item, Answer>[] {
    const taken = queue.length <= this.limits.maxBatch ? queue : queue.splice(0, this.limits.maxBatch);
    this.groups.delete(group);
    // Round robin: the rest of this group goes behind the others.
    if (taken !== queue) this.groups.set(group, queue);
    this.queued -= taken.length;
    // Almost always none waited too long: then the batch is what was taken, not a copy.
    let fresh = taken;
    for (let i = 0; i < taken.length; i++) {
      const waiting = taken[i] as Waiting<Item, Answer>;
      if (now - waiting.queuedAt > this.limits.queueTimeoutMs) {
        if (fresh === taken) fresh = taken.slice(0, i);
        fail(
          waiting,
          this.refusal(
            `a ${this.noun} waited more than ${this.limits.queueTimeoutMs}ms for ${this.hooks.remote}`,
          ),
        );
      } else if (fresh !== taken) fresh.push(waiting);
    }
    return fresh;
  }

  private dispatch(batch: Waiting<Item, Answer>[]): void {
    this.inFlight++;
    let sent: Promise<Answer[]>;
    try {
      sent = this.hooks.send(batch.map((waiting) => waiting.check));
    } catch (error) {
      // A send that throws instead of rejecting must not leak its place or escape setImmediate.
      sent = Promise.reject(asError(error));
    }
    sent.then(
      (outcomes) => {
        this.settled();
        for (let i = 0; i < batch.length; i++) {
          const waiting = batch[i] as Waiting<Item, Answer>;
          const outcome = outcomes[i];
          if (outcome) waiting.resolve(waiting.sink.answered(waiting.check, outcome));
          else
            fail(
              waiting,
              new StoreUnavailableError(`${this.hooks.remote} answered no outcome for ${this.noun} ${i}`),
            );
        }
      },
      (error: unknown) => {
        this.settled();
        for (const waiting of batch) fail(waiting, error);
      },
    );
  }

  private settled(): void {
    this.inFlight--;
    if (this.queued > 0) this.scheduleFlush();
  }

  /**
   * Too much waiting: this process has more checks than the store takes in time. If the store
   * itself has been timing out, that is the store's failure (the failure mode applies).
   */
  private refusal(reason: string): Error {
    this.shed++;
    if (this.hooks.storeIsSlow()) {
      return new StoreUnavailableError(`${this.hooks.remote} is slow: ${reason}`, { reason: 'timeout' });
    }
    return new OverloadedError(`overloaded: ${reason}`, 1000);
  }
}

/** The checks' coalescer: outcomes as they are, or made into the caller's answer by a sink. */
export class CheckCoalescer extends Coalescer<Check, Outcome> {
  submit(check: Check): Promise<Outcome> {
    return this.submitInto(check, OUTCOMES);
  }
}
