import { pino } from 'pino';
import type { Logger, LoggerOptions } from 'pino';
import type { LogLevel } from '../config/settings.js';
import type { LogDestination } from './log-destination.js';
import { REDACTED, REDACTED_LOG_PATHS, serializeError } from './redact.js';

/**
 * The service's pino options: JSON lines through the bounded asynchronous destination, the
 * authorization header censored, and errors serialized by the allow-list that keeps Redis command
 * arguments and URL passwords out.
 */
export function serviceLoggerOptions(level: LogLevel, nodeId: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
    serializers: { err: (error: unknown) => serializeError(error) },
    base: { nodeId },
  };
}

/**
 * The service's logger, made before anything else so that every part (rules, store, app) logs
 * through it from its first line; the Fastify app is handed the same instance.
 */
export function createServiceLogger(level: LogLevel, nodeId: string, destination: LogDestination): Logger {
  return pino(serviceLoggerOptions(level, nodeId), destination);
}
