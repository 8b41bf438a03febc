import { StoreUnavailableError } from '../../core/errors.js';

/**
 * Why a Redis call or connection failed, as a short stable code: reported in readiness, in the
 * `reason` of a `store_unavailable` error and in logs, so an operator can act on it.
 */
export type RedisFailureReason =
  | 'noperm'
  | 'oom'
  | 'readonly'
  | 'wrongpass'
  | 'noauth'
  | 'not_redis'
  | 'maxclients'
  | 'select_failed'
  | 'unknown_command'
  | 'wrongtype'
  | 'loading'
  | 'busy'
  | 'masterdown'
  | 'clusterdown'
  | 'tls'
  | 'refused'
  | 'unreachable'
  | 'timeout'
  | 'closed'
  | 'script_error'
  | 'other';

/** A failure explained: the code and a message that holds no key, argument or credential. */
export interface RedisFailure {
  reason: RedisFailureReason;
  message: string;
}

/** What ioredis attaches to a reply error: the command it answered (its args hold keys and passwords). */
interface ErrorLike {
  message: string;
  code?: unknown;
  name?: unknown;
  command?: { name?: unknown };
}

function asErrorLike(error: unknown): ErrorLike {
  if (typeof error === 'object' && error !== null && typeof (error as ErrorLike).message === 'string') {
    return error as ErrorLike;
  }
  return { message: String(error) };
}

/**
 * ioredis' answer to a command sent while it has no usable connection (no offline queue). It says
 * nothing about why; the reason is the connection error that preceded it.
 */
export function isOfflineQueueRejection(error: unknown): boolean {
  const { message } = asErrorLike(error);
  return (
    message === "Stream isn't writeable and enableOfflineQueue options is false" ||
    message === "Cluster isn't ready and enableOfflineQueue options is false"
  );
}

/** A SELECT that failed: ioredis then goes on, silently, in database 0. */
export function isSelectFailure(error: unknown): boolean {
  const { message, command } = asErrorLike(error);
  return command?.name === 'select' || /DB index is out of range/i.test(message);
}

/**
 * A failure that makes the connection it happened on unusable even if ioredis calls it ready: a
 * failed SELECT (the wrong database) or AUTH (ioredis may still pass its ready check as the
 * default user before it reconnects).
 */
export function isConnectionFault(error: unknown): boolean {
  const { command } = asErrorLike(error);
  return isSelectFailure(error) || command?.name === 'auth';
}

const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|CERT_|HOSTNAME_MISMATCH)/;
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
  'EADDRNOTAVAIL',
]);

/** Redis reply prefixes that name their cause, and what to tell the operator about each. */
const REPLY_CAUSES: readonly [RegExp, RedisFailureReason, string][] = [
  [
    /^NOPERM\b/,
    'noperm',
    'NOPERM: the Redis ACL user lacks a permission the limiter needs (it runs EVALSHA/EVAL and writes keys under its prefix)',
  ],
  [
    /^OOM\b/,
    'oom',
    'OOM: Redis is at its maxmemory and its eviction policy refuses writes, so nothing can be recorded',
  ],
  [
    /^READONLY\b/,
    'readonly',
    'READONLY: this Redis is a read-only replica; point REDIS_URL at the master (or at Sentinel or the cluster)',
  ],
  [
    /^WRONGPASS\b/,
    'wrongpass',
    'WRONGPASS: Redis refused the user name or password in REDIS_URL (wrong, rotated, or the user is disabled)',
  ],
  [/^NOAUTH\b/, 'noauth', 'NOAUTH: Redis requires authentication and REDIS_URL gives no password'],
  [/max number of clients reached/i, 'maxclients', 'Redis refused the connection: its maxclients is reached'],
  [
    /^WRONGTYPE\b/,
    'wrongtype',
    'WRONGTYPE: a counter key holds a value of another type (written by something other than the limiter?)',
  ],
  [/^LOADING\b/, 'loading', 'LOADING: Redis is still loading its dataset into memory'],
  [/^BUSY\b/, 'busy', 'BUSY: Redis is busy running a long script'],
  [/^MASTERDOWN\b/, 'masterdown', 'MASTERDOWN: the replica has lost its link to the master'],
  [/^CLUSTERDOWN\b/, 'clusterdown', 'CLUSTERDOWN: the Redis Cluster is down or a slot is not served'],
  [/^NOSCRIPT\b/, 'script_error', 'NOSCRIPT: Redis does not have the limiter script loaded'],
];

/**
 * Explain a Redis failure without echoing what Redis echoed: a reply error may quote the command's
 * arguments (an unknown command lists them; newer Redis versions name the key an ACL refused), and
 * ioredis attaches every argument (keys, AUTH passwords) to the error object.
 */
export function classifyRedisError(error: unknown): RedisFailure {
  const { message, code, name, command } = asErrorLike(error);
  const codeText = typeof code === 'string' ? code : '';
  if (isSelectFailure(error)) {
    // The one argument worth naming: a database number (digits only, never a key or a secret).
    const args = (command as { args?: unknown } | undefined)?.args;
    const db = Array.isArray(args) && /^\d{1,5}$/.test(String(args[0])) ? ` ${String(args[0])}` : '';
    return {
      reason: 'select_failed',
      message: `SELECT${db} failed: the database in REDIS_URL does not exist on this Redis (see its "databases" setting)`,
    };
  }
  const unknownCommand = /^ERR unknown command [`'"]?([A-Za-z][A-Za-z0-9_|.-]{0,40})/i.exec(message);
  if (unknownCommand) {
    const commandName = (unknownCommand[1] ?? '').toUpperCase();
    return {
      reason: 'unknown_command',
      message: `Redis does not know the command ${commandName} (renamed or disabled with rename-command?); the limiter needs it`,
    };
  }
  for (const [pattern, reason, explanation] of REPLY_CAUSES) {
    if (pattern.test(message)) return { reason, message: explanation };
  }
  if (name === 'ParserError' || /^Protocol error/i.test(message)) {
    return {
      reason: 'not_redis',
      message:
        'the server at REDIS_URL does not speak the Redis protocol (is it Redis, and is the port right?)',
    };
  }
  if (message === 'Command timed out' || /^redis did not answer within/.test(message)) {
    return { reason: 'timeout', message: 'Redis did not answer in time' };
  }
  if (TLS_CODES.test(codeText) || /certificate|ssl|tls/i.test(message)) {
    return { reason: 'tls', message: `TLS handshake with Redis failed: ${safeText(message)}` };
  }
  if (codeText === 'ECONNREFUSED') return { reason: 'refused', message: safeText(message) };
  if (UNREACHABLE_CODES.has(codeText)) return { reason: 'unreachable', message: safeText(message) };
  if (message === 'Connection is closed.' || /connection is closed/i.test(message)) {
    return { reason: 'closed', message: 'the Redis connection is closed' };
  }
  if (/^ERR Error running script|@user_script/.test(message)) {
    return { reason: 'script_error', message: `a limiter script failed in Redis: ${safeText(message)}` };
  }
  const commandName = typeof command?.name === 'string' ? ` (${command.name.toUpperCase()})` : '';
  return { reason: 'other', message: `${safeText(message)}${commandName}` };
}

/**
 * The failure of a call, with the real cause when ioredis only says it had no connection: the
 * last connection error (a refused connection, a non-Redis peer, maxclients, WRONGPASS).
 */
export function explainRedisError(error: unknown, lastConnectionError?: unknown): RedisFailure {
  if (isOfflineQueueRejection(error)) {
    if (lastConnectionError !== undefined && !isOfflineQueueRejection(lastConnectionError)) {
      return classifyRedisError(lastConnectionError);
    }
    return { reason: 'unreachable', message: 'not connected to Redis' };
  }
  return classifyRedisError(error);
}

/** A StoreUnavailableError for a failed Redis call: `<what>: <explanation>`, with the reason attached. */
export function redisUnavailable(
  what: string,
  error: unknown,
  lastConnectionError?: unknown,
): StoreUnavailableError {
  const failure = explainRedisError(error, lastConnectionError);
  return new StoreUnavailableError(`${what}: ${failure.message}`, { cause: error, reason: failure.reason });
}

const MAX_MESSAGE_CHARS = 200;

/**
 * A message from Redis or the network with everything quoted removed (arguments, key names) and
 * any `with args ...` tail cut, bounded in length.
 */
export function safeText(message: string): string {
  const cut = message.replace(/,?\s*with args beginning with:.*$/is, '');
  const unquoted = cut.replace(/'[^']*'|"[^"]*"|`[^`]*`/g, '<…>');
  const oneLine = unquoted.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_MESSAGE_CHARS)}…` : oneLine;
}
