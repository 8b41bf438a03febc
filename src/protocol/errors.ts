import { InvalidArgumentError, OverloadedError, StoreUnavailableError } from '../core/errors.js';
import type { RateLimiterError } from '../core/errors.js';

/** The one JSON error shape of the product: `{"error": {"code", "message", "field"?, "reason"?}}`. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; reason?: string };
}

/** Longest message and field echoed: both may quote what the client sent (a URL, a field name). */
const MAX_MESSAGE_CHARS = 300;
const MAX_FIELD_CHARS = 100;

function capped(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function errorBody(code: string, message: string, field?: string, reason?: string): ErrorBody {
  const error: ErrorBody['error'] = { code, message: capped(message, MAX_MESSAGE_CHARS) };
  if (field !== undefined) error.field = capped(field, MAX_FIELD_CHARS);
  if (reason !== undefined) error.reason = reason;
  return { error };
}

/** The HTTP status of a library error: bad input is the client's, the rest is "try again". */
export function statusOf(error: RateLimiterError): number {
  return error.code === 'invalid_argument' ? 400 : 503;
}

/** A library error as its body: the field at fault, or why the store could not answer. */
export function bodyOf(error: RateLimiterError): ErrorBody {
  const reason = error instanceof StoreUnavailableError ? error.reason : undefined;
  return errorBody(error.code, error.message, error.field, reason);
}

/** `Retry-After` in whole seconds, at least 1: a client waiting this long never comes back too early. */
export function retryAfterHeader(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** What a refused call answered, as a client of the service reads it. */
export interface ErrorReply {
  status: number;
  body: unknown;
  /** The Retry-After header in seconds, when the reply had a valid one. */
  retryAfterS?: number | undefined;
}

/**
 * A reply of the service as the error the library would have thrown itself, for its clients: bad
 * input stays InvalidArgumentError (with the service's field), a shed call stays OverloadedError
 * (no failure mode may admit it), a service that cannot decide is StoreUnavailableError. Anything
 * else (a refused token, an unknown route) is a misconfiguration: a plain Error, never an outage.
 */
export function errorFromReply({ status, body, retryAfterS }: ErrorReply, origin: string): Error {
  const error = (body as Partial<ErrorBody> | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : 'error';
  const message = typeof error?.message === 'string' ? error.message : '';
  const field = typeof error?.field === 'string' ? error.field : undefined;
  if (status === 400 && code === 'invalid_argument') {
    return new InvalidArgumentError(field ?? 'request', message || 'invalid argument');
  }
  if (status === 503 && code === 'overloaded') {
    return new OverloadedError(`the service at ${origin} is overloaded`, (retryAfterS ?? 1) * 1000);
  }
  const described = `${status} ${code}${field === undefined ? '' : ` (${field})`}: ${message}`;
  if (status === 503 || status === 502 || status === 504) {
    const reason = typeof error?.reason === 'string' ? error.reason : undefined;
    return new StoreUnavailableError(`the service at ${origin} cannot decide (${described})`, { reason });
  }
  return new Error(`the service at ${origin} answered ${described}`);
}
