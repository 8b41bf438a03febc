import { InvalidArgumentError, OverloadedError, StoreUnavailableError } from '../../core/errors.js';
import type { RateLimiterError } from '../../core/errors.js';
import { bodyOf, errorBody, retryAfterHeader } from '../../protocol/errors.js';
import type { ErrorBody } from '../../protocol/errors.js';
import type { HeaderPair } from '../../protocol/headers.js';

/** How a middleware answers a request it could not decide. */
export interface FailureResponse {
  statusCode: number;
  headers: HeaderPair[];
  body: ErrorBody;
  error: RateLimiterError;
}

/**
 * A limiter failure as a response: the store unreachable in the closed failure mode, or the
 * limiter shedding load, is `unavailableStatus` (503 by default), never an admit; a key or cost
 * the request produced that the contract refuses is a 400 naming it. Anything else (a bug in a
 * key function, say) is not ours to answer: undefined, and the framework's error handling takes it.
 */
export function failureResponse(error: unknown, unavailableStatus: number): FailureResponse | undefined {
  if (error instanceof InvalidArgumentError) {
    return { statusCode: 400, headers: [], body: bodyOf(error), error };
  }
  if (error instanceof OverloadedError) {
    return {
      statusCode: unavailableStatus,
      headers: [['Retry-After', retryAfterHeader(error.retryAfterMs)]],
      body: errorBody(error.code, error.message),
      error,
    };
  }
  if (error instanceof StoreUnavailableError) {
    // The app's clients learn only that it cannot decide now: where its store is stays private.
    const body = errorBody(error.code, 'the rate limiter cannot decide now; try again shortly');
    return { statusCode: unavailableStatus, headers: [], body, error };
  }
  return undefined;
}
