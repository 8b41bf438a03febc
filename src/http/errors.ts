import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OverloadedError, RateLimiterError } from '../core/errors.js';
import { bodyOf, errorBody, retryAfterHeader, statusOf } from '../protocol/errors.js';
import type { ErrorBody } from '../protocol/errors.js';

/** A refusal decided by the HTTP layer itself (auth, unknown route), with its status. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

interface MappedError {
  statusCode: number;
  body: ErrorBody;
}

/** Ajv's description of one failed schema rule, as Fastify attaches it to a validation error. */
interface SchemaViolation {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Fastify's own client errors, by code: what the client sent wrong, as our status and field. */
const FASTIFY_CLIENT_ERRORS: Record<string, { statusCode: number; code: string; field: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: 'payload_too_large', field: 'body' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, code: 'unsupported_media_type', field: 'content-type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, code: 'invalid_argument', field: 'content-length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: 'invalid_argument', field: 'body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: 'invalid_argument', field: 'body' },
  FST_ERR_BAD_URL: { statusCode: 400, code: 'invalid_argument', field: 'url' },
  // Only a counter key can be that long in our routes; 512 bytes encode to at most 1536 characters.
  FST_ERR_MAX_PARAM_LENGTH: { statusCode: 400, code: 'invalid_argument', field: 'key' },
};

/** Fastify messages that quote the client's text at length: ours say what is wrong instead. */
const KNOWN_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL holds a malformed percent-encoding or is not valid',
};

const body = errorBody;

/** `/checks/3/limit` → `checks[3].limit`: the field as a client would write it in code. */
export function fieldPath(instancePath: string, child?: string): string {
  const segments = instancePath.split('/').filter((segment) => segment !== '');
  if (child !== undefined) segments.push(child);
  return segments
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, segment) => {
      if (/^\d+$/.test(segment)) return `${path}[${segment}]`;
      return path === '' ? segment : `${path}.${segment}`;
    }, '');
}

/**
 * A union (window: number or string; algorithm: one of a list) fails once per branch. Name what
 * would have been accepted, unless a branch had the right type and broke a bound: then say that.
 */
function describeUnionFailure(branches: readonly SchemaViolation[]): string {
  const bound = branches.find(({ keyword }) => keyword !== 'type' && keyword !== 'const');
  if (bound) return bound.message ?? 'is invalid';
  const allowed = branches.map(({ params }) =>
    typeof params.type === 'string' ? params.type : JSON.stringify(params.allowedValue),
  );
  return `must be one of: ${[...new Set(allowed)].join(', ')}`;
}

function fromSchemaViolations(violations: readonly SchemaViolation[], part: string): MappedError | undefined {
  const [violation] = violations;
  if (!violation) return undefined;
  const union = violations.find(({ keyword }) => keyword === 'anyOf');
  if (union) {
    const field = fieldPath(union.instancePath) || part;
    const branches = violations.filter(
      ({ instancePath, keyword }) => instancePath === union.instancePath && keyword !== 'anyOf',
    );
    return {
      statusCode: 400,
      body: body('invalid_argument', `${field} ${describeUnionFailure(branches)}`, field),
    };
  }
  const { instancePath, keyword, params } = violation;
  if (keyword === 'required' && typeof params.missingProperty === 'string') {
    const field = fieldPath(instancePath, params.missingProperty);
    return { statusCode: 400, body: body('invalid_argument', `${field} is required`, field) };
  }
  if (keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    const field = fieldPath(instancePath, params.additionalProperty);
    return { statusCode: 400, body: body('invalid_argument', `${field} is not a known field`, field) };
  }
  // The whole part is at fault (a body that is not an object, say): name the part.
  const field = fieldPath(instancePath) || part;
  const message = `${field} ${violation.message ?? 'is invalid'}`;
  return { statusCode: 400, body: body('invalid_argument', message, field) };
}

/** Every failure, whatever raised it, as a status and the one error body. */
export function mapError(error: unknown): MappedError {
  if (error instanceof HttpError) {
    return { statusCode: error.statusCode, body: body(error.code, error.message, error.field) };
  }
  if (error instanceof RateLimiterError) return { statusCode: statusOf(error), body: bodyOf(error) };
  const fastifyError = error as Partial<FastifyError> & { validation?: SchemaViolation[] };
  const invalid = fromSchemaViolations(
    fastifyError.validation ?? [],
    fastifyError.validationContext ?? 'request',
  );
  if (invalid) return invalid;
  const known = FASTIFY_CLIENT_ERRORS[fastifyError.code ?? ''];
  if (known) {
    const message = KNOWN_MESSAGES[fastifyError.code ?? ''] ?? fastifyError.message ?? '';
    return { statusCode: known.statusCode, body: body(known.code, message, known.field) };
  }
  const statusCode = fastifyError.statusCode ?? 500;
  if (statusCode >= 400 && statusCode < 500) {
    return { statusCode, body: body('bad_request', fastifyError.message ?? 'bad request') };
  }
  return { statusCode: 500, body: body('internal', 'internal error') };
}

/** The app's only error handler: every route and hook failure ends here. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { statusCode, body: errorBody } = mapError(error);
  if (statusCode >= 500 && statusCode !== 503) request.log.error({ err: error }, 'request failed');
  if (statusCode === 401) reply.header('WWW-Authenticate', 'Bearer');
  if (error instanceof OverloadedError) {
    reply.header('Retry-After', retryAfterHeader(error.retryAfterMs));
  }
  return reply.code(statusCode).send(errorBody);
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Echo a bounded path only: the URL is the client's text, up to the server's URL limit.
  const path = (request.url.split('?')[0] ?? '').slice(0, 200);
  return reply.code(404).send(body('not_found', `no route for ${request.method} ${path}`));
}
