/** One call's deadline, as the watch keeps it. */
export interface Deadline {
  readonly budgetMs: number;
  waitedMs: number;
  lastSeenAt: number;
  /** Set when the call was failed for its time; a reply that comes later is a late reply. */
  expired: boolean;
  readonly onExpire: () => void;
}

/**
 * Every call's deadline on one ticking timer instead of a timer per call. Each tick charges a
 * call the time since it was last seen, but never more than two ticks' worth: a tick that comes
 * late means this process was busy, and that time is not the store's. An expired call is judged
 * in setImmediate, after the poll phase has read the socket, so a reply that already arrived wins.
 *
 * RedisConnection and the ServiceStore's HTTP client share it: a timeout means the remote was
 * slow, never that this process was busy.
 *
 * On one connection (`inOrder`) Redis answers in the order calls were sent, so a call waiting
 * behind this process's own earlier calls is not waiting on a slow Redis while replies keep
 * coming: a call is charged only the time during which no reply at all arrived (`stallMs`, reset
 * by every reply), up to its own age, and expires at its own budget. A hung Redis thus fails each
 * call after its own budget, the 50 ms checks and the 2 s registry calls alike.
 */
export class DeadlineWatch {
  private readonly pending = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;
  /** Lag-discounted time since the last reply while calls were waiting (in-order mode). */
  private stallMs = 0;
  private lastTickAt = 0;
  private stopped = false;

  constructor(
    private readonly tickMs: number,
    private readonly inOrder: boolean,
  ) {}

  track(budgetMs: number, onExpire: () => void): Deadline {
    const now = performance.now();
    const deadline: Deadline = {
      budgetMs,
      waitedMs: 0,
      lastSeenAt: now,
      expired: false,
      onExpire,
    };
    // Time with nothing waiting is no stall.
    if (this.pending.size === 0) this.stallMs = 0;
    this.pending.add(deadline);
    if (!this.timer && !this.stopped) {
      this.lastTickAt = now;
      this.timer = setInterval(() => {
        this.tick();
      }, this.tickMs);
      this.timer.unref();
    }
    if (this.stopped) this.expire([deadline]);
    return deadline;
  }

  done(deadline: Deadline): void {
    this.pending.delete(deadline);
  }

  /** Redis answered something: whatever waits behind it is not waiting on a stalled server. */
  replied(): void {
    this.stallMs = 0;
  }

  /** No more ticks: every call still waiting expires now, and so does any tracked later. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.expire([...this.pending]);
  }

  private tick(): void {
    if (this.pending.size === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = performance.now();
    const cap = 2 * this.tickMs;
    this.stallMs += Math.min(now - this.lastTickAt, cap);
    this.lastTickAt = now;
    const expired: Deadline[] = [];
    for (const deadline of this.pending) {
      deadline.waitedMs += Math.min(now - deadline.lastSeenAt, cap);
      deadline.lastSeenAt = now;
      const charged = this.inOrder ? Math.min(this.stallMs, deadline.waitedMs) : deadline.waitedMs;
      if (charged >= deadline.budgetMs) expired.push(deadline);
    }
    if (expired.length > 0) this.expire(expired);
  }

  private expire(deadlines: readonly Deadline[]): void {
    setImmediate(() => {
      for (const deadline of deadlines) {
        if (!this.pending.delete(deadline)) continue; // answered in the meantime
        deadline.expired = true;
        deadline.onExpire();
      }
    });
  }
}
