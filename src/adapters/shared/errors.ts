import { InvalidArgumentError, OverloadedError, StoreUnavailableError } from '../../core/errors.js';
import type { RateLimiterError } from '../../core/errors.js';
import { ceilSeconds } from '../../protocol/headers.js';
import type { HeaderPair } from '../../protocol/headers.js';

/** The one JSON error shape of the product. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

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
    const field = error.field ?? 'request';
    return {
      statusCode: 400,
      headers: [],
      body: { error: { code: error.code, message: error.message, field } },
      error,
    };
  }
  if (error instanceof OverloadedError) {
    return {
      statusCode: unavailableStatus,
      headers: [['Retry-After', String(Math.max(1, ceilSeconds(error.retryAfterMs)))]],
      body: { error: { code: error.code, message: error.message } },
      error,
    };
  }
  if (error instanceof StoreUnavailableError) {
    return {
      statusCode: unavailableStatus,
      headers: [],
      body: { error: { code: error.code, message: 'the rate limiter cannot decide now; try again shortly' } },
      error,
    };
  }
  return undefined;
}
