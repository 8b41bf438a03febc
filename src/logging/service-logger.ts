import type { FastifyServerOptions } from 'fastify';
import type { LogLevel } from '../config/settings.js';
import type { LogDestination } from './log-destination.js';
import { REDACTED, REDACTED_LOG_PATHS, serializeError } from './redact.js';

/**
 * The service's pino options: JSON lines through the bounded asynchronous destination, the
 * authorization header censored, and errors serialized by the allow-list that keeps Redis command
 * arguments and URL passwords out.
 */
export function serviceLoggerOptions(
  level: LogLevel,
  nodeId: string,
  destination: LogDestination,
): FastifyServerOptions['logger'] {
  return {
    level,
    stream: destination,
    redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
    serializers: { err: (error: unknown) => serializeError(error) },
    base: { nodeId },
  };
}
