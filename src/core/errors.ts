/** Codes shared by every transport; each transport maps them to its own status once. */
export type ErrorCode = 'invalid_argument' | 'store_unavailable' | 'overloaded';

/** Base of every error the library throws on purpose. Being limited is not an error. */
export class RateLimiterError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller sent something the contract does not allow; `field` names it. */
export class InvalidArgumentError extends RateLimiterError {
  constructor(field: string, message: string) {
    super('invalid_argument', message, field);
  }
}

/** The store did not answer in time or could not be reached; nothing is known about the counter. */
export class StoreUnavailableError extends RateLimiterError {
  /** Why, when the store knows: a short code such as `timeout`, `oom`, `noperm`, `readonly`. */
  readonly reason: string | undefined;

  constructor(message: string, options?: ErrorOptions & { reason?: string }) {
    super('store_unavailable', message, undefined, options);
    this.reason = options?.reason;
  }
}

/**
 * This process has more work than it can hand to the store in time (its queue is full or a call
 * waited too long in it). Nothing was decided, so no failure mode may turn it into an admit;
 * `retryAfterMs` says when trying again is reasonable.
 */
export class OverloadedError extends RateLimiterError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super('overloaded', message);
  }
}

/** A thrown value as an Error, for a promise to reject with (JavaScript can throw anything). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
