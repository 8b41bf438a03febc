/**
 * Envoy's token bucket as its `rate_limit_quota` filter builds one from an assignment
 * (AtomicTokenBucketImpl): it starts full at `max_tokens`, refills continuously at
 * tokens_per_fill / fill_interval, where the interval is read in whole seconds only, and never
 * holds more than `max_tokens`. Used by the simulated proxies of the tests and the bench.
 */
export class EnvoyTokenBucket {
  private tokens: number;
  private readonly perMs: number;

  constructor(
    readonly maxTokens: number,
    readonly tokensPerFill: number,
    fillIntervalS: number,
    private lastMs: number,
  ) {
    const wholeSeconds = Math.trunc(fillIntervalS);
    if (wholeSeconds < 1)
      throw new RangeError('Envoy divides by the whole seconds of fill_interval: it must be >= 1 s');
    this.tokens = maxTokens;
    this.perMs = tokensPerFill / (wholeSeconds * 1000);
  }

  /** Take one token at `nowMs` (never earlier than the last call), if there is one. */
  consume(nowMs: number): boolean {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.maxTokens, this.tokens + (nowMs - this.lastMs) * this.perMs);
      this.lastMs = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
